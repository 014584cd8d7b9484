# The authors' Imagewoof pair: ResNet-34 -> ResNet-18 with the ImageNet stem,
# on Imagewoof-160, batch 64. Train the teacher first:
#   python tools/train.py configs/teachers/resnet34_imagewoof160.py
_base_ = [
    './resnet34-resnet18_5blocks.py',
    '../datasets/imagewoof160_bs64.py',
]
model = dict(
    student=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        head=dict(num_classes=10)),
    teacher=dict(
        cfg_path='{{ fileDirname }}/../../teachers/resnet34_imagewoof160.py'),
    teacher_ckpt='work_dirs/resnet34_imagewoof160/epoch_200.pth')
auto_scale_lr = dict(base_batch_size=64)
