# StableKD = the feature-imitation KD baseline + recomposition over the 5
# blocks (decomposed -> half-merged -> end-to-end for the first 20% / next
# 20% / rest of the 12 epochs).
_base_ = [
    '../../kd/kd_retinanet_r50-r18_fpn_1x_coco.py',
    '../../_base_/recomposition/5blocks_20-20.py',
]
# the teacher is wider: its features reach the student's blocks through
# PCAProjection (benchmarks/heterogeneous_pairs.py); the KD twin builds none
# the backbone stages learn the teacher's features by plain MSE, as measured
# on the shapes (README); the classification default (MSE relative to the
# teacher's variance, weight 10) is not measured on detectors yet
model = dict(alignment=dict(type='PCAProjection'),
             feat_loss=dict(type='FeatureMSELoss'))
