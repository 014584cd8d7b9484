# CrossKD-style baseline, COCO, RetinaNet R-50 -> R-18 (both FPNs 256 wide,
# so the student's levels enter the teacher's head as they are): the KD twin
# with the crossed-head path (configs/_base_/distill/crosskd_retinanet.py).
_base_ = ['./kd_retinanet_r50-r18_fpn_1x_coco.py',
          '../_base_/distill/crosskd_retinanet.py']
model = dict(output_losses=dict(_delete_=True, crosskd={{_base_.crosskd}}))
