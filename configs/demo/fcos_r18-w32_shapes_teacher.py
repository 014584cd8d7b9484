# Detection demo teacher of a second family: FCOS (anchor-free, centerness,
# GN head) with the RetinaNet demo teacher's ResNet-18 at half width, FPN and
# head widths, data and schedule. The model is upstream's
# (mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py) written out: that
# config cannot be a second base, its data keys clash with the shapes'.
_base_ = ['./retinanet_r18-w32_shapes_teacher.py']
model = dict(
    _delete_=True,
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    # from scratch, pytorch style (upstream: caffe-style ImageNet weights)
    backbone=dict(type='ResNet', depth=18, base_channels=32,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=[32, 64, 128, 256], out_channels=64,
              start_level=1, add_extra_convs='on_output', num_outs=5,
              relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead', num_classes=3, in_channels=64, feat_channels=64,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                      alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
