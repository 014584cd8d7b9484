# Detection demo teacher: RetinaNet with a ResNet-18 at half width
# (32-64-128-256 channels) and a 64-channel FPN and head, trained from
# scratch on the generated shapes (3 classes, 128x128 images).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/shapes_coco.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    # from scratch: no ImageNet weights, nothing frozen, BN statistics learnt
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1,
                  norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(num_classes=3, in_channels=64, feat_channels=64))

# 24 epochs: at 12 this teacher is no better than the student alone
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# AdamW trains these small detectors from scratch more reliably than SGD
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    # ends with training (MMEngine's default end: max_epochs)
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=1e-5),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=4, max_keep_ckpts=1))
randomness = dict(seed=0)
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines (and
# for the distillation configs inheriting it, the recomposition stages
# handed to the hook and the learning-rate cycles)
runner_type = 'mmstablekd.PortableRunner'
