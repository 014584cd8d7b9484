# Segmentation demo student, trained alone: the teacher's PSPNet at 1/4
# width of a ResNet-18 (16-32-64-128 channels).
_base_ = ['./pspnet_r18-w32-d8_shapes-seg_teacher.py']
width = 16
model = dict(
    backbone=dict(stem_channels=width, base_channels=width),
    decode_head=dict(in_channels=8 * width, channels=2 * width),
    auxiliary_head=dict(in_channels=4 * width, channels=width))
# the students' budget (alone, KD, StableKD; benchmarks/segmentation_kd.py)
train_cfg = dict(max_epochs=8)
