# Detection demo teacher of a third family: GFL (ATSS assignment, a joint
# class-quality score, boxes as distributions over 17 bins per side) with the
# RetinaNet demo teacher's ResNet-18 at half width, FPN and head widths, data
# and schedule. The model is upstream's (mmdet::gfl/gfl_r50_fpn_1x_coco.py)
# written out: that config cannot be a second base, its data keys clash with
# the shapes'.
_base_ = ['./retinanet_r18-w32_shapes_teacher.py']
model = dict(
    _delete_=True,
    type='GFL',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    # from scratch (upstream: ImageNet weights, stage 1 frozen)
    backbone=dict(type='ResNet', depth=18, base_channels=32,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=[32, 64, 128, 256], out_channels=64,
              start_level=1, add_extra_convs='on_output', num_outs=5),
    bbox_head=dict(
        type='GFLHead', num_classes=3, in_channels=64, stacked_convs=4,
        feat_channels=64,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                              octave_base_scale=8, scales_per_octave=1,
                              strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                      loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=16,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=100))
