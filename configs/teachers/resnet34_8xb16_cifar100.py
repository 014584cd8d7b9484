# CIFAR ResNet-34 on CIFAR-100, to train the teacher of
# kd/kd_resnet34-resnet18_cifar100.py (MMPretrain ships no such checkpoint):
#   python tools/train.py configs/teachers/resnet34_8xb16_cifar100.py
_base_ = ['mmpretrain::resnet/resnet50_8xb16_cifar100.py']
model = dict(backbone=dict(depth=34), head=dict(in_channels=512))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines (and
# for the distillation configs inheriting it, the recomposition stages
# handed to the hook and the learning-rate cycles)
runner_type = 'mmstablekd.PortableRunner'
