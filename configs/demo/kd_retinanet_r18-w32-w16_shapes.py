# Feature-imitation KD baseline on the shapes: the demo student learns from
# the demo teacher end to end (StableKD's model without a schedule): its own
# detection losses plus the imitation of the teacher's FPN outputs.
_base_ = ['./retinanet_r18-w16_shapes_student.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(
        cfg_path='{{ fileDirname }}/retinanet_r18-w32_shapes_teacher.py'),
    # written by tools/train.py on retinanet_r18-w32_shapes_teacher.py
    teacher_ckpt='work_dirs/retinanet_r18-w32_shapes_teacher/epoch_24.pth',
    # boundaries='auto' (the default): 5 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 | FPN + head (every stage output the FPN receives)
    output_losses=dict(
        neck=dict(student='neck', teacher='neck',
                  loss=dict(type='FeatureMSELoss', loss_weight=1.0))),
    # the student's head starts as the teacher's (same FPN and head widths):
    # FGD's and MGD's "inheriting", which lifted every KD method here
    # (docs/detection_kd.md)
    inherit=['bbox_head'],
    probe_input_shape=(3, 128, 128))
