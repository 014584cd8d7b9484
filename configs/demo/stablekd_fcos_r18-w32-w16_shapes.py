# StableKD on the FCOS pair: its KD twin plus the shipped recomposition of
# the 5 blocks (as stablekd_retinanet_r18-w32-w16_shapes.py).
_base_ = [
    './kd_fcos_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_20-20.py',
]
# as the RetinaNet demo: PCAProjection where the teacher is wider, the
# backbone stages' targets by plain MSE
model = dict(alignment=dict(type='PCAProjection'),
             feat_loss=dict(type='FeatureMSELoss'))
