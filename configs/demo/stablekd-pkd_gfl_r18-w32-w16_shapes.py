# StableKD with PKD's loss on the shapes: the PKD twin plus the shipped
# recomposition of the 5 blocks; the backbone stages' targets by PKD's
# standardised feature loss too (weight 1 per boundary: a first guess,
# measured by benchmarks/detection_kd.py).
_base_ = [
    './pkd_gfl_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_30-30.py',
]
model = dict(feat_loss=dict(type='PKDLoss', loss_weight=1.0))
