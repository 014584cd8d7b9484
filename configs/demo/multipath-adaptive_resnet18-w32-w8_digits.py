# Adaptive Distillation on the digits, layer-wise: KD, logit MSE, attention
# transfer at each boundary and softmax regression (the student's pooled
# feature widened 64 -> 256 through the teacher's frozen classifier), each
# weighted by a learned exp(-s_i), logged as weight_<path>.
_base_ = ['./kd_resnet18-w32-w8_digits.py']
stages = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3']
model = dict(
    output_losses=dict(
        _delete_=True,
        kd=dict(
            student='head', teacher='head',
            loss=dict(type='KDLoss', temperature=4.0)),
        logit=dict(
            student='head', teacher='head',
            loss=dict(type='FeatureMSELoss')),
        **{
            f'at_b{j}': dict(
                student=path, teacher=path, loss=dict(type='ATLoss'))
            for j, path in enumerate(stages)
        },
        sr=dict(
            student='neck', teacher='head',
            connector=dict(
                type='ConvBNAdapter', in_channels=64, out_channels=256),
            teacher_module='head.fc',
            loss=dict(type='FeatureMSELoss'))),
    task_loss_weight=1.0,
    loss_aggregator=dict(type='AdaptiveLossAggregator', layer_wise=True))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'loss_aggregator': dict(decay_mult=0.)}))
