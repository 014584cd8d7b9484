# StableKD = the feature-imitation KD baseline + recomposition over the 5
# blocks (decomposed -> half-merged -> end-to-end for the first 20% / next
# 20% / rest of the 12 epochs).
_base_ = [
    '../../kd/kd_retinanet_r50-r18_fpn_1x_coco.py',
    '../../_base_/recomposition/5blocks_20-20.py',
]
# Detectors keep what was measured on the shapes (README) until the
# classification defaults are measured on them: the teacher's features reach
# the student's blocks through PCAProjection (benchmarks/
# heterogeneous_pairs.py), and the stages learn them by plain MSE (not the
# MSE relative to the teacher's variance, weight 30)
model = dict(alignment=dict(type='PCAProjection'),
             feat_loss=dict(type='FeatureMSELoss'))
