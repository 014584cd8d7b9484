# CrossKD-style baseline, COCO, RetinaNet R-101 -> R-50: the KD twin with the
# crossed-head path (configs/_base_/distill/crosskd_retinanet.py) instead of
# imitating the teacher's FPN outputs.
_base_ = ['./kd_retinanet_r101-r50_fpn_1x_coco.py',
          '../_base_/distill/crosskd_retinanet.py']
model = dict(output_losses=dict(_delete_=True, crosskd={{_base_.crosskd}}))
