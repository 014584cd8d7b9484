# StableKD whose block losses are weighted by learned s_i (not in either
# paper): each boundary's feature loss (feat_b<j>) and the KD on logits get
# their own exp(-s_i) * L_i + s_i, CE untouched.
_base_ = ['../stablekd/mmpretrain/stablekd_resnet50-resnet18_cifar100.py']
model = dict(
    loss_aggregator=dict(type='AdaptiveLossAggregator', layer_wise=True),
    task_loss_weight=1.0,  # the learned weights replace CE 0.1 / KD 0.9
    output_losses=dict(kd=dict(loss=dict(loss_weight=1.0))))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'loss_aggregator': dict(decay_mult=0.)}))
# the loss weights of the feature losses train only while those losses are
# active: distributed runs let DDP find the unused ones
model_wrapper_cfg = dict(find_unused_parameters=True)
