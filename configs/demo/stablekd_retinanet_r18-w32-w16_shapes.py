# StableKD on the shapes: the KD baseline plus recomposition of the 5 blocks,
# decomposed -> half-merged -> end-to-end for ~20% / ~20% / the rest of the
# 12 epochs (epochs 0-1 / 2-4 / 5-11).
_base_ = [
    './kd_retinanet_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_20-20.py',
]
# Detectors keep what was measured on the shapes (README) until the
# classification defaults are measured on them: the teacher's features reach
# the student's blocks through PCAProjection (benchmarks/
# heterogeneous_pairs.py), and the stages learn them by plain MSE (not the
# MSE relative to the teacher's variance, weight 30)
model = dict(alignment=dict(type='PCAProjection'),
             feat_loss=dict(type='FeatureMSELoss'))
