# The authors' StableKD, CIFAR-100, 100 epochs (the phases and their
# learning-rate cycles are shares of training: they follow).
_base_ = ['./stablekd_resnet34-resnet18_cifar100-bs128-200e.py']
train_cfg = dict(max_epochs=100)
