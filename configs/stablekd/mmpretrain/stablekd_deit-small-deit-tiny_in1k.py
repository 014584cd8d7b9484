# StableKD between transformers, ImageNet: DeiT-S -> DeiT-T, the KD baseline
# + recomposition (decomposed -> half-merged -> end-to-end for the first
# 20% / next 20% / rest of training). DeiT-S is wider (384 vs 192 dims):
# alignment='auto' (the default) projects its tokens (PCAProjection).
_base_ = [
    '../../kd/kd_deit-small-deit-tiny_in1k.py',
    '../../_base_/recomposition/4blocks_20-20.py',
]
