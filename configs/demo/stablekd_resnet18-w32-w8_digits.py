# StableKD on the digits: the KD baseline plus recomposition,
# decomposed -> half-merged -> end-to-end for 20% / 20% / the rest of the
# training iterations (37 / 37 / 110 of 8 epochs x 23 iterations), as in
# configs/_base_/recomposition/4blocks_20-20.py but counted in iterations.
_base_ = [
    './kd_resnet18-w32-w8_digits.py',
    '../_base_/recomposition/4blocks_20-20.py',
]
# The teacher is wider: with alignment='auto' (the default) the student's
# blocks are fed and learn the teacher's channels written by its
# largest-L1 filters (ChannelSelection, chosen by benchmarks/kd_grid.py
# over PCAProjection).
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
