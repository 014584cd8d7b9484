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
# The decomposed blocks' feature losses make the first gradients ~10x
# KD's (global L2 norm ~30 against KD's 1-4 on the digits); at lr 0.1 the
# first block stopped learning (its ReLUs died) in 20 of 24 narrow-student
# runs, two of which ended at chance. With the norm clipped at 10 it
# learned in all 24 and StableKD held every cell of that grid. The clip
# binds while decomposed (in 63% / 96% of those iterations at lr 0.05 /
# 0.1), never end to end; KD clipped at 5 moved by +0.1 on average
# (benchmarks/kd_grid.py --design narrow; docs/diagnosis.md).
optim_wrapper = dict(clip_grad=dict(max_norm=10.0))
# the relative feature loss weighted 10, not the model's default 30: at 30
# the blocks copy the teacher closely, its test errors included, and
# StableKD trailed KD by up to 0.74 where the teacher is the weaker model;
# 10 held every cell of the digits grids (docs/diagnosis.md)
model = dict(feat_loss=dict(
    type='FeatureMSELoss', relative=True, loss_weight=10.))
