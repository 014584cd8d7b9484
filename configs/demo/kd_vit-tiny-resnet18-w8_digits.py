# KD baseline across architectures: the demo's ResNet student learns from the
# small ViT teacher (configs/demo/vit-tiny_digits_teacher.py) end to end.
_base_ = ['./kd_resnet18-w32-w8_digits.py']
model = dict(
    teacher=dict(cfg_path='{{ fileDirname }}/vit-tiny_digits_teacher.py'),
    # written by `tools/train.py configs/demo/vit-tiny_digits_teacher.py`
    teacher_ckpt='work_dirs/vit-tiny_digits_teacher/epoch_30.pth')
