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
# gradient norm clipped at 10, as StableKD's RecompositionHook caps it: on
# these detectors it lifts the KD baselines too (PKD +0.03 to +0.07 mAP over
# MMDetection's 35 at 4 epochs, docs/detection_kd_4ep.md), so every method
# compared trains with it
optim_wrapper = dict(clip_grad=dict(max_norm=10.0))

# next to every checkpoint, a student-only one that init_detector loads with
# configs/demo/retinanet_r18-w16_shapes_student.py
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
