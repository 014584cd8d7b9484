# Feature-imitation KD baseline, COCO: RetinaNet R-50 (MMDetection's public
# checkpoint) -> RetinaNet R-18 with the 1x schedule: the R-101 -> R-50 pair
# one size down. The stage widths differ (256/512/1024/2048 vs
# 64/128/256/512), but KD never feeds the student the teacher's stage
# outputs: no alignment (the StableKD twin sets one); both FPNs output 256
# channels.
_base_ = ['./kd_retinanet_r101-r50_fpn_1x_coco.py']  # data, runtime, losses

model = dict(
    student=dict(
        _delete_=True,
        cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'),
    teacher=dict(cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_r50_fpn_1x_coco/retinanet_r50_fpn_1x_coco_20200130-c2398f9e'
    '.pth')
# The exported student-only checkpoints load with init_detector and the
# student's own config (mmdet::retinanet/retinanet_r18_fpn_1x_coco.py).
