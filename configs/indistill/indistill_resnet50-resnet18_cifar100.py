# InDistill (Sarridis et al., arXiv 2205.10003) on the CIFAR-100 pair of the
# KD baseline: a warm-up that distils the boundaries directly, one at a time
# and shallow to deep, then the pooled embedding with PKT; then KD.
# No encoder: the teacher's boundary features are cut to the student's
# width by keeping the channels of its largest-L1 filters (256/512/1024 ->
# 64/128/256); the student runs end to end throughout.
_base_ = ['../kd/kd_resnet50-resnet18_cifar100.py']
model = dict(
    # MSE against the selected teacher channels
    alignment=dict(type='ChannelSelection'),
    feat_loss=dict(type='FeatureMSELoss'),
    output_losses=dict(
        pkt=dict(student='neck', teacher='neck', loss=dict(type='PKTLoss'))))
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        clip_grad=None,  # InDistill clips nothing (the hook's default: 10)
        stages=[
            # growing stage lengths (3, 4, 5 epochs), as in the paper
            dict(begin=0, losses=['feat_b0']),
            dict(begin=3, losses=['feat_b1']),
            dict(begin=7, losses=['feat_b2']),
            # PKT on the embedding until the warm-up ends (its length is
            # not given in the paper: 20 of 240 epochs here)
            dict(begin=12, losses=['pkt']),
            dict(begin=20, losses=['task', 'kd']),
        ])
]
# warm-up stages train part of the student only
model_wrapper_cfg = dict(find_unused_parameters=True)
