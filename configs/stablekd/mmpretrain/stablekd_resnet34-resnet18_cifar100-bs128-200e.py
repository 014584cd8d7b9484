# The authors' StableKD ("Progressive DnD"), CIFAR-100, 200 epochs: the KD
# twin's pair with the authors' recomposition (5 blocks, the head never
# merged, three equal phases) and one learning-rate cycle per phase.
_base_ = [
    '../../_base_/pairs/resnet34-resnet18_cifar100_bs128.py',
    '../../_base_/recomposition/5blocks_thirds.py',
]
param_scheduler = [_base_.stage_cycles]
