# Demo transformer teacher: a small ViT on the digits (8 layers of 64 dims,
# 4x4-pixel patches: an 8x8 grid of tokens plus a class token).
_base_ = ['./resnet18-w32_digits_teacher.py']
model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=64,
            num_layers=8,
            num_heads=4,
            feedforward_channels=128),
        img_size=32,
        patch_size=4),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss')))
# transformers train with AdamW, not the CNNs' SGD at lr 0.1
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05))
train_cfg = dict(max_epochs=30)
