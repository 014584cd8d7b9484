# Demo student, trained alone: CIFAR-style ResNet-18 at 1/8 width
# (8-16-32-64 channels, ~1/16 of the teacher's compute).
_base_ = ['./resnet18-w32_digits_teacher.py']
model = dict(
    backbone=dict(base_channels=8, stem_channels=8),
    head=dict(in_channels=64))
