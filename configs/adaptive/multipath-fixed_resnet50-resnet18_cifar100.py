# Adaptive Distillation, baseline with hand-tuned fixed weights: soft targets
# dominate, the feature paths are scaled to a comparable magnitude. (The
# paper does not list its hand-tuned values; these are a starting point.)
_base_ = ['./multipath-equal_resnet50-resnet18_cifar100.py']
model = dict(
    output_losses=dict(
        kd=dict(loss=dict(loss_weight=0.9)),
        logit=dict(loss=dict(loss_weight=0.01)),
        **{f'at_b{j}': dict(loss=dict(loss_weight=100.0)) for j in range(3)},
        **{f'gram_b{j}': dict(loss=dict(loss_weight=10.0)) for j in range(3)},
        sr=dict(loss=dict(loss_weight=0.01))),
    task_loss_weight=0.1)
