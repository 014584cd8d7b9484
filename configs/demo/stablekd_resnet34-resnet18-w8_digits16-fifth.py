# StableKD in the demo: the KD baseline plus recomposition, decomposed ->
# half-merged -> end-to-end for 20% / 20% / the rest of the 60 iterations
# (configs/_base_/recomposition/4blocks_20-20.py, counted in iterations).
# Equal widths: no alignment.
_base_ = [
    './kd_resnet34-resnet18-w8_digits16-fifth.py',
    '../_base_/recomposition/4blocks_20-20.py',
]
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
# the decomposed blocks' first gradients are 10-30x KD's: without a clip
# the first block can die at lr 0.1 (docs/diagnosis.md, last section)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0))
