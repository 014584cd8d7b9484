# Demo student, trained alone: CIFAR-style ResNet-18 at 1/8 width on a
# class-balanced fifth of the 16 px digits (287 images, 5 iterations of
# batch 64 an epoch), 12 epochs: a budget where it is far from its ceiling.
_base_ = ['./resnet34-w8_digits16_teacher.py']
model = dict(backbone=dict(depth=18))
train_dataloader = dict(sampler=dict(
    type='mmstablekd.ClassBalancedSubsetSampler', fraction=0.2))
optim_wrapper = dict(optimizer=dict(lr=0.05))
train_cfg = dict(max_epochs=12, val_interval=1)
