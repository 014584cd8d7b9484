# Demo teacher of the authors' pair (ResNet-34 -> ResNet-18, equal widths):
# CIFAR-style ResNet-34 at 1/8 width (8-16-32-64 channels) on all the
# digits at 16 px (the scans are 8x8: 16 px loses nothing and costs a
# quarter of 32 px), 15 epochs.
_base_ = ['./resnet18-w32_digits_teacher.py']
model = dict(
    backbone=dict(depth=34, base_channels=8, stem_channels=8),
    head=dict(in_channels=64))
train_dataloader = dict(dataset=dict(
    size=16,
    pipeline=[dict(type='RandomCrop', crop_size=16, padding=1),
              dict(type='PackInputs')]))
val_dataloader = dict(dataset=dict(size=16))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=15, val_interval=15)
