# StableKD in the demo: the KD baseline plus recomposition, decomposed ->
# half-merged -> end-to-end for 20% / 20% / the rest of the 60 iterations
# (configs/_base_/recomposition/4blocks_20-20.py, counted in iterations).
# Equal widths: no alignment.
_base_ = [
    './kd_resnet34-resnet18-w8_digits16-fifth.py',
    '../_base_/recomposition/4blocks_20-20.py',
]
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
