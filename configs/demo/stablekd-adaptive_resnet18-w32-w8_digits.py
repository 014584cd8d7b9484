# StableKD on the digits with learned weights for its block losses
# (feat_b0..2) and the KD on logits; CE untouched.
_base_ = ['./stablekd_resnet18-w32-w8_digits.py']
model = dict(
    loss_aggregator=dict(type='AdaptiveLossAggregator', layer_wise=True),
    task_loss_weight=1.0,
    output_losses=dict(kd=dict(loss=dict(loss_weight=1.0))))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'loss_aggregator': dict(decay_mult=0.)}))
# the loss weights of the feature losses train only while those losses are
# active: distributed runs let DDP find the unused ones
model_wrapper_cfg = dict(find_unused_parameters=True)
