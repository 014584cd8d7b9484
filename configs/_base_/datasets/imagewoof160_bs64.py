# Imagewoof (10 dog breeds of ImageNet, fast.ai), the 160 px version, as an
# ImageNet-style folder (see docs/reproduction.md):
#   wget https://s3.amazonaws.com/fast-ai-imageclas/imagewoof2-160.tgz
#   tar xzf imagewoof2-160.tgz -C data/   # data/imagewoof2-160/{train,val}/
# with one sub-folder per class (n02086240/*.JPEG, ...): 9,025 train and
# 3,929 val images, shorter side 160 px.
data_preprocessor = dict(
    num_classes=10,
    # ImageNet's RGB mean and std (Imagewoof is a subset of it)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=160),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=160, edge='short'),
    dict(type='CenterCrop', crop_size=160),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type='CustomDataset',
        data_root='data/imagewoof2-160',
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type='CustomDataset',
        data_root='data/imagewoof2-160',
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
