# The authors' KD baseline, CIFAR-100 (methods.md section 1): CIFAR
# ResNet-34 -> ResNet-18, CE + KL, batch 128, one learning-rate cycle with
# peak 0.1, 200 epochs. The StableKD twin adds the recomposition and its
# learning-rate cycles.
_base_ = [
    '../_base_/pairs/resnet34-resnet18_cifar100_bs128.py',
    '../_base_/schedules/one_cycle_kd.py',
]
