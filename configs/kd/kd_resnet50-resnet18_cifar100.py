# KD baseline, CIFAR-100: CIFAR ResNet-50 (MMPretrain's public CIFAR-100
# checkpoint) -> CIFAR ResNet-18, with the CIFAR-100 KD recipe. Widths differ
# (256/512/1024 vs 64/128/256). The StableKD twin adds a recomposition
# schedule and the alignment of those widths.
_base_ = ['mmpretrain::resnet/resnet50_8xb16_cifar100.py']  # data, runtime
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py',
        head=dict(num_classes=100)),
    teacher={{_base_.model}},
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet50_b16x8_cifar100_20210528-67b58a1b.pth',
    # boundaries='auto' (the default): 4 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 + head. Widths differ; alignment='auto' (the default)
    # selects the teacher's channels there (ChannelSelection, no
    # parameters), which only the StableKD twin, feeding blocks, uses.
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=4.0, loss_weight=0.9))),
    task_loss_weight=0.1)  # CE 0.1 / KD 0.9

# CIFAR-100 KD recipe: batch 64, SGD lr 0.05, 240 epochs, x0.1 at 150/180/210
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    _delete_=True,
    type='MultiStepLR',
    by_epoch=True,
    milestones=[150, 180, 210],
    gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook and the learning-rate cycles
runner_type = 'mmstablekd.PortableRunner'
