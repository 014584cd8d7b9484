# The authors' KD baseline, Imagewoof-160 (methods.md section 1): ResNet-34
# -> ResNet-18 (ImageNet stem), CE + KL, batch 64, one learning-rate cycle
# with peak 0.1, 200 epochs. The StableKD twin adds the recomposition and
# its learning-rate cycles.
_base_ = [
    '../_base_/pairs/resnet34-resnet18_imagewoof160_bs64.py',
    '../_base_/schedules/one_cycle_kd.py',
]
