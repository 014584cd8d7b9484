# CWD KD baseline, Cityscapes: DeepLabV3+ R-101-d8 (MMSegmentation's public
# checkpoint, 80.97 mIoU) -> DeepLabV3+ R-18-d8, the student's schedule; the
# PSPNet pair's losses (CWD on the decode heads' logits, at stride 4 here).
# Data, runtime and schedule: the PSPNet pair's, the same Cityscapes 80k set-up
# as DeepLabV3+'s own configs.
_base_ = ['./kd_pspnet_r101-d8-r18-d8_4xb2-80k_cityscapes-512x1024.py']
_student = 'mmseg::deeplabv3plus/' \
    'deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    student=dict(_delete_=True, cfg_path=_student),
    teacher=dict(cfg_path='mmseg::deeplabv3plus/'
                 'deeplabv3plus_r101-d8_4xb2-80k_cityscapes-512x1024.py'),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/'
    'deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes/'
    'deeplabv3plus_r101-d8_512x1024_80k_cityscapes_20200606_114143-068fcfe9'
    '.pth')
# the exported student loads with init_model and the student's own config
