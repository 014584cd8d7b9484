# StableKD "towards end-to-end", CIFAR-100, 200 epochs: the authors'
# recipe with a fourth phase in which the head merges too (four equal
# phases, one learning-rate cycle each).
_base_ = [
    '../../_base_/pairs/resnet34-resnet18_cifar100_bs128.py',
    '../../_base_/recomposition/5blocks_thirds_end-to-end.py',
]
param_scheduler = [_base_.stage_cycles]
