# StableKD on the GFL pair: its KD twin plus the shipped recomposition of
# the 5 blocks (as stablekd_retinanet_r18-w32-w16_shapes.py).
_base_ = [
    './kd_gfl_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_30-30.py',
]
# alignment='auto' (the default: ChannelSelection where the teacher is
# wider) and the feature MSE relative to the teacher's variance: ahead of
# the earlier pins (PCAProjection, plain MSE) on the RetinaNet and FCOS
# shapes families (benchmarks/detection_kd.py, docs/detection_kd.md)
