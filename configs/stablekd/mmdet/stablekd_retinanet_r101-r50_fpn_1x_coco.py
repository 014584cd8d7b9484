# StableKD = the feature-imitation KD baseline + recomposition over the 5
# blocks (decomposed -> half-merged -> end-to-end for the first 20% / next
# 20% / rest of the 12 epochs).
_base_ = [
    '../../kd/kd_retinanet_r101-r50_fpn_1x_coco.py',
    '../../_base_/recomposition/5blocks_20-20.py',
]
# the backbone stages learn the teacher's features by plain MSE, as measured
# on the shapes (README); the classification default (MSE relative to the
# teacher's variance, weight 30) is not measured on detectors yet
model = dict(feat_loss=dict(type='FeatureMSELoss'))
