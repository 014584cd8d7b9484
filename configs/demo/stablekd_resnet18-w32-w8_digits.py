# StableKD on the digits: the KD baseline plus recomposition,
# decomposed -> half-merged -> end-to-end for 20% / 20% / the rest of the
# training iterations (37 / 37 / 110 of 8 epochs x 23 iterations), as in
# configs/_base_/recomposition/4blocks_20-20.py but counted in iterations.
_base_ = ['./kd_resnet18-w32-w8_digits.py']
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        by_epoch=False,
        stages=[
            dict(begin=0, groups=[[0], [1], [2], [3]]),
            dict(begin=0.2, groups=[[0, 1], [2, 3]]),
            dict(begin=0.4, groups=[[0, 1, 2, 3]]),
        ]),
    dict(type='mmstablekd.AlignmentFitHook'),
]
