# KD baseline across architectures, ImageNet: Swin-T (MMPretrain's public
# checkpoint, 81.18 top-1) -> ResNet-18, with the ImageNet KD recipe (T = 1,
# CE 0.5 / KD 0.5) and the inherited ResNet-18 schedule.
_base_ = ['./kd_resnet34-resnet18_in1k.py']
model = dict(
    teacher=dict(
        _delete_=True,
        cfg_path='mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py'),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/'
    'swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-'
    '66df6be6.pth',
    # boundaries='auto' (the default) pairs Swin's stages 0-2 (tokens in
    # (tokens, hw_shape) tuples) with ResNet's layers 1-3, at the same
    # strides (4, 8, 16)
)
