# The authors' KD baseline, CIFAR-100, 200 epochs on a class-balanced 20%
# of the training set (the same 20% for every run of a seed).
_base_ = ['./kd_resnet34-resnet18_cifar100-bs128-200e.py']
train_dataloader = dict(
    sampler=dict(type='mmstablekd.ClassBalancedSubsetSampler',
                 fraction=0.20))
