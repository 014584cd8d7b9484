# StableKD across architectures, ImageNet: Swin-T -> ResNet-18, the KD
# baseline + recomposition. Each Swin stage's tokens are read as a map and
# projected to the ResNet stage's width (96/192/384 -> 64/128/256): Swin's
# stages end with no convolution, so alignment='auto' (the default) builds
# PCAProjection, fitted by RecompositionHook before training.
# tools/analysis/inspect_blocks.py prints the plan.
_base_ = [
    '../../kd/kd_swin-tiny-resnet18_in1k.py',
    '../../_base_/recomposition/4blocks_20-20.py',
]
# the decomposed blocks' first gradients are 10-30x KD's: without a clip
# the first block can die at lr 0.1 (docs/diagnosis.md, last section)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0))
