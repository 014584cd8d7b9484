# Feature-imitation KD on the GFL pair: the RetinaNet demo's KD config (raw
# MSE on the FPN outputs, boundaries auto, the same data and schedule) with
# the GFL student and teacher.
_base_ = ['./kd_retinanet_r18-w32-w16_shapes.py']
model = dict(
    student=dict(_delete_=True,
                 cfg_path='{{ fileDirname }}/gfl_r18-w16_shapes_student.py'),
    teacher=dict(cfg_path='{{ fileDirname }}/gfl_r18-w32_shapes_teacher.py'),
    # written by tools/train.py on gfl_r18-w32_shapes_teacher.py
    teacher_ckpt='work_dirs/gfl_r18-w32_shapes_teacher/epoch_24.pth')
