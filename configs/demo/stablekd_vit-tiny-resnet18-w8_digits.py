# StableKD across architectures: the small ViT teacher's layers 1, 3 and 5
# (tokens on an 8x8 grid) feed the ResNet student's stages 2, 3 and the rest
# (maps of 32x32, 16x16, 8x8): boundaries='auto' pairs them, and each
# teacher feature is read as a map, resized to the student's grid and
# projected to its width (tools/analysis/inspect_blocks.py prints the plan).
_base_ = ['./stablekd_resnet18-w32-w8_digits.py']
model = dict(
    teacher=dict(cfg_path='{{ fileDirname }}/vit-tiny_digits_teacher.py'),
    # written by `tools/train.py configs/demo/vit-tiny_digits_teacher.py`
    # a ViT layer ends with no convolution to select channels by, so
    # alignment='auto' projects the teacher's tokens on their principal
    # components (PCAProjection), fitted by RecompositionHook
    teacher_ckpt='work_dirs/vit-tiny_digits_teacher/epoch_30.pth')
