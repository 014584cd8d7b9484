# InDistill on the digits: the teacher's strongest channels (32/64/128 ->
# 8/16/32) distilled one boundary at a time, then PKT on the embedding, then
# KD; the student runs end to end. Stages in iterations of the 184-iteration
# demo budget (the paper's 3/4/5 growth, then PKT, then KD from 40%).
# Evaluated as in the paper: retrieval mAP, the test digits querying the
# train digits (cosine and Euclidean), instead of top-1.
_base_ = [
    './kd_resnet18-w32-w8_digits.py',
    '../_base_/evaluation/retrieval_digits.py',
]
model = dict(
    alignment=dict(type='ChannelSelection'),
    feat_loss=dict(type='FeatureMSELoss'),  # InDistill's plain MSE
    output_losses=dict(
        pkt=dict(student='neck', teacher='neck', loss=dict(type='PKTLoss'))))
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        by_epoch=False,
        clip_grad=None,  # InDistill clips nothing (the hook's default: 10)
        stages=[
            dict(begin=0, losses=['feat_b0']),
            dict(begin=15, losses=['feat_b1']),
            dict(begin=35, losses=['feat_b2']),
            dict(begin=60, losses=['pkt']),
            dict(begin=74, losses=['task', 'kd']),
        ])
]
model_wrapper_cfg = dict(find_unused_parameters=True)
val_cfg = _base_.retrieval_val_cfg
val_evaluator = _base_.retrieval_evaluator
test_cfg = _base_.retrieval_test_cfg
test_evaluator = _base_.retrieval_evaluator
default_hooks = dict(
    checkpoint=dict(save_best='retrieval/mAP_cosine', rule='greater'))
