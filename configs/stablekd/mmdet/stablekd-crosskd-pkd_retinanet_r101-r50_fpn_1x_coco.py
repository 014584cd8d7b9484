# StableKD with the CrossKD-style path and PKD, COCO, RetinaNet R-101 -> R-50:
# the KD twin (kd/crosskd-pkd_retinanet_r101-r50_fpn_1x_coco.py) plus the
# 5-block recomposition; how the two compare on the shapes:
# docs/detection_kd.md (not measured on COCO).
_base_ = [
    '../../kd/crosskd-pkd_retinanet_r101-r50_fpn_1x_coco.py',
    '../../_base_/recomposition/5blocks_30-30.py',
]
