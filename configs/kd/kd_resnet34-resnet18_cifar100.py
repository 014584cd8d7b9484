# KD baseline, CIFAR-100: CIFAR ResNet-34 -> CIFAR ResNet-18 (equal widths:
# no adapters). Train the teacher first with
#   python tools/train.py configs/teachers/resnet34_8xb16_cifar100.py
_base_ = ['./kd_resnet50-resnet18_cifar100.py']
model = dict(
    teacher=dict(
        _delete_=True,
        cfg_path='{{ fileDirname }}/../teachers/resnet34_8xb16_cifar100.py'),
    teacher_ckpt='work_dirs/resnet34_8xb16_cifar100/epoch_200.pth')
