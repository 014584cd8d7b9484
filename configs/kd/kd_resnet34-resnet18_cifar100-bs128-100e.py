# The authors' KD baseline, CIFAR-100, 100 epochs.
_base_ = ['./kd_resnet34-resnet18_cifar100-bs128-200e.py']
train_cfg = dict(max_epochs=100)
