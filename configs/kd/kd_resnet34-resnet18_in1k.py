# KD baseline, ImageNet: ResNet-34 (MMPretrain's public checkpoint) ->
# ResNet-18, with the ImageNet KD recipe (T = 1, CE 0.5 / KD 0.5; batch 256,
# lr 0.1, 100 epochs, x0.1 at 30/60/90: the inherited MMPretrain schedule).
_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py']  # student, data
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py'),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    # boundaries='auto' (the default): 4 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 + head; equal widths, so no alignment
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=1.0, loss_weight=0.5))),
    task_loss_weight=0.5)

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook and the learning-rate cycles
runner_type = 'mmstablekd.PortableRunner'
