# GFL demo student, trained alone: the GFL teacher with a ResNet-18 at 1/4
# width (16-32-64-128 channels), the teacher's FPN and head widths.
_base_ = ['./gfl_r18-w32_shapes_teacher.py']
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128]))
# the students' budget, as the RetinaNet demo's: 12 epochs
train_cfg = dict(max_epochs=12)
