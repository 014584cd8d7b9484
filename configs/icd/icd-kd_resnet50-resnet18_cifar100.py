# ICD + KD: 1 * CE + 1 * KD (T=4) + 1 * ICD.
_base_ = ['./icd_resnet50-resnet18_cifar100.py']
model = dict(
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0))))
