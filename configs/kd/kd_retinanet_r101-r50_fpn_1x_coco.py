# Feature-imitation KD baseline, COCO: RetinaNet R-101 (MMDetection's public
# checkpoint) -> RetinaNet R-50 with the 1x schedule. Same widths at every
# stage, so no adapters. The StableKD twin adds a recomposition schedule and
# nothing else.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']  # data, runtime
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py'),
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_r101_fpn_1x_coco/retinanet_r101_fpn_1x_coco_20200130-7a93545f'
    '.pth',
    # boundaries='auto' (the default): 5 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 | neck + head (the FPN receives all four stage outputs)
    # the last group: RetinaNet's own losses (loss_cls, loss_bbox) plus the
    # imitation of the teacher's FPN outputs, level by level (loss_neck)
    output_losses=dict(
        neck=dict(student='neck', teacher='neck',
                  loss=dict(type='FeatureMSELoss', loss_weight=1.0))),
    # the student's head starts as the teacher's (same widths): FGD's and
    # MGD's "inheriting"; on the shapes it lifted every KD method by 0.3-0.6
    # mAP at 4 epochs (docs/detection_kd.md)
    inherit=['bbox_head'],
    task_loss_weight=1.0)

# next to every checkpoint, a student-only one that init_detector loads with
# the student's own config (mmdet::retinanet/retinanet_r50_fpn_1x_coco.py)
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook and the learning-rate cycles
runner_type = 'mmstablekd.PortableRunner'
