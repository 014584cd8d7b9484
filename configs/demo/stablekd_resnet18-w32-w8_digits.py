# StableKD on the digits: the KD baseline plus recomposition,
# decomposed -> half-merged -> end-to-end (~20% / ~20% / rest of training).
_base_ = ['./kd_resnet18-w32-w8_digits.py']
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        stages=[
            dict(begin=0, groups=[[0], [1], [2], [3]]),
            dict(begin=1, groups=[[0, 1], [2, 3]]),
            dict(begin=2, groups=[[0, 1, 2, 3]]),
        ])
]
