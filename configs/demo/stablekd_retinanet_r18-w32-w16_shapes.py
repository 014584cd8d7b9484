# StableKD on the shapes: the KD baseline plus recomposition of the 5 blocks,
# decomposed -> half-merged -> end-to-end for ~20% / ~20% / the rest of the
# 12 epochs (epochs 0-1 / 2-4 / 5-11).
_base_ = [
    './kd_retinanet_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_20-20.py',
]
# alignment='auto' (the default: ChannelSelection where the teacher is
# wider) and the feature MSE relative to the teacher's variance: ahead of
# the earlier pins (PCAProjection, plain MSE) on both shapes families
# (benchmarks/detection_kd.py, docs/detection_kd.md)
