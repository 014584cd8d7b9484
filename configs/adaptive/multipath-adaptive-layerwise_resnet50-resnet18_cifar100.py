# Adaptive Distillation, layer-wise: one learned s_i per boundary of the AT
# and Gram paths (at_b0, at_b1, ...), one per other path.
_base_ = ['./multipath-adaptive_resnet50-resnet18_cifar100.py']
model = dict(loss_aggregator=dict(layer_wise=True))
