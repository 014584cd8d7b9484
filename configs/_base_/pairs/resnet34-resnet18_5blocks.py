# The authors' StableKD set-up (methods.md section 1), without data and
# networks: ResNet-34 -> ResNet-18 (equal stage widths, so no alignment is
# built) cut into 5 blocks: stem + layer1 | layer2 | layer3 | layer4 |
# pooling + head; CE + KL to the teacher's logits, weights 1; SGD lr 0.05,
# momentum 0.9, wd 5e-4. No learning-rate schedule: the KD baseline adds
# one cycle (../schedules/one_cycle_kd.py), StableKD one cycle per
# recomposition stage (../recomposition/5blocks_thirds.py).
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmstablekd'])

# the module paths that cut both networks (block ends)
resnet_stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
model = dict(
    type='mmstablekd.StableKD',
    boundaries=dict(student=resnet_stages, teacher=resnet_stages),
    # the authors' feature loss: plain MSE, weight 1
    feat_loss=dict(type='FeatureMSELoss'),
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            # the authors give no temperature: the usual T = 4
            loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0))),
    task_loss_weight=1.0)

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook and the learning-rate cycles
runner_type = 'mmstablekd.PortableRunner'
