# KD baseline between transformers, ImageNet: DeiT-S (MMPretrain's public
# checkpoint, 80.69 top-1) -> DeiT-T (74.50 trained alone), with DeiT-T's
# own recipe (AdamW, Mixup/CutMix, 300 epochs) and T = 1, CE 0.5 / KD 0.5.
_base_ = ['mmpretrain::deit/deit-tiny_4xb256_in1k.py']  # student, data
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(cfg_path='mmpretrain::deit/deit-small_4xb256_in1k.py'),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/deit/'
    'deit-small_pt-4xb256_in1k_20220218-9425b9bb.pth',
    # boundaries='auto' (the default): layers 2, 5 and 8 of both (4 blocks
    # of 3 layers); alignment='auto' projects the tokens, class token
    # included, from 384 to 192 dims (PCAProjection) for the StableKD twin
    output_losses=dict(
        kd=dict(
            student='head',
            teacher='head',
            loss=dict(type='KDLoss', temperature=1.0, loss_weight=0.5))),
    task_loss_weight=0.5)

# next to every checkpoint, a student-only one that plain MMPretrain loads
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMPretrain's/MMDetection's
# own train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook and the learning-rate cycles
runner_type = 'mmstablekd.PortableRunner'
