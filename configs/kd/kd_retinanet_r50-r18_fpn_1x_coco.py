# Feature-imitation KD baseline, COCO: RetinaNet R-50 (MMDetection's public
# checkpoint) -> RetinaNet R-18 with the 1x schedule. The stage widths differ
# (256/512/1024/2048 vs 64/128/256/512): 1x1 conv + BN input adapters feed
# the student the teacher's stage outputs; both FPNs output 256 channels.
# The StableKD twin adds a recomposition schedule and nothing else.
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py']  # data, runtime
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_r50_fpn_1x_coco/retinanet_r50_fpn_1x_coco_20200130-c2398f9e'
    '.pth',
    # N = 5 blocks: stem + layer1 | layer2 | layer3 | layer4 | neck + head
    boundaries=dict(
        student=['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
                 'backbone.layer4'],
        teacher=['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
                 'backbone.layer4']),
    # Widths differ: compare features at the student's width, against the
    # teacher's feature through the input adapter (what the next block is
    # fed); see StableKD's feat_space.
    feat_space='student',
    output_losses=dict(
        neck=dict(student='neck', teacher='neck',
                  loss=dict(type='FeatureMSELoss', loss_weight=1.0))),
    task_loss_weight=1.0)

# next to every checkpoint, a student-only one that init_detector loads with
# the student's own config (mmdet::retinanet/retinanet_r18_fpn_1x_coco.py)
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
