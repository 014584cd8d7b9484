# Detection demo teacher of a third family: GFL (ATSS assignment, a joint
# class-quality score, boxes as distributions over 17 bins per side) on the
# FCOS demo teacher's backbone, FPN widths, data and schedule. The head and
# its training are upstream's (mmdet::gfl/gfl_r50_fpn_1x_coco.py) written
# out, as the FCOS teacher writes out its model.
_base_ = ['./fcos_r18-w32_shapes_teacher.py']
model = dict(
    type='GFL',
    neck=dict(relu_before_extra_convs=False),
    bbox_head=dict(
        _delete_=True,
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
    test_cfg=dict(nms=dict(iou_threshold=0.6)))
