# KD baseline of the demo: the ResNet-18 student learns from the ResNet-34
# teacher end to end (StableKD's model without a recomposition schedule).
_base_ = ['./resnet18-w8_digits16-fifth_student.py']
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='{{ fileDirname }}/resnet34-w8_digits16_teacher.py'),
    # written by `tools/train.py configs/demo/resnet34-w8_digits16_teacher.py`
    teacher_ckpt='work_dirs/resnet34-w8_digits16_teacher/epoch_15.pth',
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0))),
    task_loss_weight=1.0)  # CE 1 / KD 1, the authors' weights

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
