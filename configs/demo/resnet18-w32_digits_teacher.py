# Demo teacher: CIFAR-style ResNet-18 at half width (32-64-128-256 channels).
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/digits_sgd.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=32, stem_channels=32),
    head=dict(num_classes=10, in_channels=256))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
randomness = dict(seed=0)
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines (and
# for the distillation configs inheriting it, the recomposition stages
# handed to the hook and the learning-rate cycles)
runner_type = 'mmstablekd.PortableRunner'
