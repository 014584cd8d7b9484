# Adaptive Distillation: every path i weighted by a learned s_i,
# CE + sum_i [exp(-s_i) * L_i + s_i]; the AT and Gram paths share one s_i
# across their three boundaries. exp(-s_i) is logged as weight_<path>.
_base_ = ['./multipath-equal_resnet50-resnet18_cifar100.py']
model = dict(loss_aggregator=dict(type='AdaptiveLossAggregator'))
# the s_i are trained with the student, without weight decay
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'loss_aggregator': dict(decay_mult=0.)}))
