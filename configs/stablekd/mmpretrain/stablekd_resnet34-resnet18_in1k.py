# StableKD = the KD baseline ../../kd/kd_resnet34-resnet18_in1k.py
# + recomposition: decomposed -> half-merged -> end-to-end for the first
# 20% / next 20% / rest of the 100 epochs (methods.md's defaults).
_base_ = ['../../kd/kd_resnet34-resnet18_in1k.py']
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        stages=[
            dict(begin=0, groups=[[0], [1], [2], [3]]),
            dict(begin=20, groups=[[0, 1], [2, 3]]),
            dict(begin=40, groups=[[0, 1, 2, 3]]),
        ])
]
