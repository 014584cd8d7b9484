# CWD KD baseline, Cityscapes: PSPNet R-101-d8 (MMSegmentation's public
# checkpoint, 79.76 mIoU) -> PSPNet R-18-d8, the student's 80k-iteration
# schedule at 512x1024 crops. CWD on the decode heads' logits as MMRazor's
# cwd_logits_pspnet config (tau 1, weight 5), end to end, plus the student's
# own decode and auxiliary cross-entropies. The stage widths differ
# (256-2048 vs 64-512), but KD never feeds the student the teacher's stage
# outputs; the StableKD twin adds the recomposition and nothing else.
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
          '../_base_/distill/cwd_decode_head.py']
custom_imports = dict(imports=['mmstablekd'])

model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(
        cfg_path='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py'
    ),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/'
    'pspnet_r101-d8_512x1024_80k_cityscapes/'
    'pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth',
    # boundaries='auto' (the default): 5 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 | decode + auxiliary head (every stage output the
    # heads receive; layer2-4 share the stride 8)
    output_losses=dict(cwd={{_base_.cwd}}),
    # traced at build time: 1/8 of the 512x1024 crop's side shows every
    # stage as the crop does (the crop itself would take minutes on a CPU)
    probe_input_shape=(3, 64, 128))

# next to every checkpoint, a student-only one that mmseg.apis.init_model
# loads with the student's own config
# (mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py)
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
# set up as tools/train.py sets it up, also under MMSegmentation's own
# train/test scripts and dist_train.sh: gloo on CPU-only machines, the
# recomposition stages handed to the hook
runner_type = 'mmstablekd.PortableRunner'
