# KD baseline on the digits: the demo student learns from the demo teacher
# end to end (StableKD's model without a recomposition schedule).
_base_ = ['./resnet18-w8_digits_student.py']
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='{{ fileDirname }}/resnet18-w32_digits_teacher.py'),
    # written by `tools/train.py configs/demo/resnet18-w32_digits_teacher.py`
    teacher_ckpt='work_dirs/resnet18-w32_digits_teacher/epoch_8.pth',
    # boundaries='auto' (the default): 4 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 + head. Widths differ; alignment='auto' (the default)
    # selects the teacher's channels there (ChannelSelection, no
    # parameters), which only the StableKD twin, feeding blocks, uses.
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=4.0, loss_weight=0.9))),
    task_loss_weight=0.1)  # CE 0.1 / KD 0.9, the CIFAR-100 recipe

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
