# Segmentation demo teacher: PSPNet on a dilated ResNet-18 (ResNetV1c, -d8:
# stages 3 and 4 at stride 8) at half width (32-64-128-256 channels),
# trained from scratch on the generated shapes (4 classes with the
# background, 128x128 images).
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/shapes_seg.py',
    'mmseg::_base_/default_runtime.py',
]
width = 32
norm_cfg = dict(type='BN', requires_grad=True)  # one process: no SyncBN
# batches are padded to this size in training (MMSegmentation needs one):
# the generated images' own
data_preprocessor = dict(size=(128, 128))
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # from scratch: no ImageNet weights offline
    backbone=dict(depth=18, stem_channels=width, base_channels=width,
                  norm_cfg=norm_cfg),
    decode_head=dict(in_channels=8 * width, channels=2 * width,
                     num_classes=4, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=4 * width, channels=width,
                        num_classes=4, norm_cfg=norm_cfg))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# AdamW trains these small segmentors from scratch more reliably than SGD
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    # ends with training (MMEngine's default end: max_epochs)
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=1e-5),
]
log_processor = dict(by_epoch=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
# set up as tools/train.py sets it up, also under MMSegmentation's own
# train/test scripts and dist_train.sh (and for the distillation configs
# inheriting it, the recomposition stages handed to the hook)
runner_type = 'mmstablekd.PortableRunner'
