# The embedded demo data: scikit-learn's 8x8 digits upsampled to 32x32 RGB
# (1,437 train / 360 test images, 10 classes; no download).
custom_imports = dict(imports=['mmstablekd'], allow_failed_imports=False)

data_preprocessor = dict(
    num_classes=10,
    mean=[78.0, 78.0, 78.0],
    std=[83.0, 83.0, 83.0],  # measured on the train split
    to_rgb=False)

train_pipeline = [
    # digits are not mirror-symmetric: pad-and-crop only
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,  # the whole set is in memory; workers only add start-up
    # explicit: MMPretrain's tools/train.py defaults it to True, which
    # PyTorch refuses without workers
    persistent_workers=False,
    dataset=dict(
        type='mmstablekd.DigitsDataset',
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='mmstablekd.DigitsDataset', split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
