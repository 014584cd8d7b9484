# StableKD = the CWD KD baseline + recomposition over the 5 blocks
# (decomposed -> half-merged -> end-to-end for the first 20% / next 20% /
# rest of the 80k iterations).
_base_ = [
    '../../kd/kd_pspnet_r101-d8-r18-d8_4xb2-80k_cityscapes-512x1024.py',
    '../../_base_/recomposition/5blocks_20-20.py',
]
# MMSegmentation's schedules count iterations: so do the stages (the hook
# also clips the gradient norm at 10, its default: on the segmentation demo
# it lifted StableKD from 63.4 to 79.6 mIoU at 4 epochs, docs/diagnosis.md;
# not measured on Cityscapes)
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
# alignment='auto' (the default: ChannelSelection, the teacher being wider
# at every stage) and the feature MSE relative to the teacher's variance
