# The authors' CIFAR-100 pair: CIFAR ResNet-34 -> CIFAR ResNet-18 (3x3
# stride-1 stem, no max-pool), batch 128. Train the teacher first:
#   python tools/train.py configs/teachers/resnet34_8xb16_cifar100.py
_base_ = [
    './resnet34-resnet18_5blocks.py',
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
]
model = dict(
    student=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py',
        head=dict(num_classes=100)),
    teacher=dict(
        cfg_path='{{ fileDirname }}/../../teachers/resnet34_8xb16_cifar100.py'
    ),
    teacher_ckpt='work_dirs/resnet34_8xb16_cifar100/epoch_200.pth')
train_dataloader = dict(batch_size=128)
auto_scale_lr = dict(base_batch_size=128)
