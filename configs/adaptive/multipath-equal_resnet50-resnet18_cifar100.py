# Adaptive Distillation (Chennupati et al., BMVC 2021), baseline with equal
# weights: CIFAR-100 ResNet-50 -> ResNet-18 distilled through several paths
# at once, each with weight 1:
#   kd      soft targets (T = 4)
#   logit   MSE between the logits
#   at_b<j> attention transfer at the boundaries (any widths)
#   gram_b<j> channel Gram matrices at the boundaries (the student's feature
#           widened to the teacher's by a trainable 1x1 conv + BN)
#   sr      "softmax regression": the student's pooled feature, widened,
#           through the teacher's frozen classifier, MSE to its logits
# Names ending in _b<j> are one path at several boundaries (one learned
# weight for all of them, unless layer_wise; see the adaptive configs).
_base_ = ['../kd/kd_resnet50-resnet18_cifar100.py']

stages = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3']
student_widths, teacher_widths = [64, 128, 256], [256, 512, 1024]
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
        **{
            f'gram_b{j}': dict(
                student=path, teacher=path,
                connector=dict(
                    type='ConvBNAdapter', in_channels=c_s, out_channels=c_t),
                loss=dict(type='GramLoss'))
            for j, (path, c_s, c_t) in enumerate(
                zip(stages, student_widths, teacher_widths))
        },
        sr=dict(
            student='neck', teacher='head',
            connector=dict(
                type='ConvBNAdapter', in_channels=512, out_channels=2048),
            teacher_module='head.fc',
            loss=dict(type='FeatureMSELoss'))),
    task_loss_weight=1.0)  # CE is never re-weighted

# the paper's recipe: batch 128, SGD lr 0.1, wd 1e-4, 200 epochs,
# x0.2 at 60/120/160
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=1e-4))
param_scheduler = dict(milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(max_epochs=200)
auto_scale_lr = dict(base_batch_size=128)
