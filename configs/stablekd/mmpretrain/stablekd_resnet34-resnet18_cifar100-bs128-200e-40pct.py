# The authors' StableKD, CIFAR-100, 200 epochs on a class-balanced 40% of
# the training set (the subset of the KD twin).
_base_ = ['./stablekd_resnet34-resnet18_cifar100-bs128-200e.py']
train_dataloader = dict(
    sampler=dict(type='mmstablekd.ClassBalancedSubsetSampler',
                 fraction=0.40))
