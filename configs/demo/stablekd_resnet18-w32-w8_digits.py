# StableKD on the digits: the KD baseline plus recomposition,
# decomposed -> half-merged -> end-to-end for ~20% / ~20% / the rest of the
# 8 epochs x 23 iterations = 184 iterations (methods.md's default split).
_base_ = ['./kd_resnet18-w32-w8_digits.py']
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        by_epoch=False,
        stages=[
            dict(begin=0, groups=[[0], [1], [2], [3]]),
            dict(begin=37, groups=[[0, 1], [2, 3]]),
            dict(begin=74, groups=[[0, 1, 2, 3]]),
        ])
]
