# CrossKD-style baseline, COCO, RetinaNet R-50 -> R-18 (both FPNs 256 wide,
# so the student's levels enter the teacher's head as they are): as
# crosskd_retinanet_r101-r50_fpn_1x_coco.py on the KD twin of this pair.
_base_ = ['./kd_retinanet_r50-r18_fpn_1x_coco.py']
model = dict(output_losses=dict(
    _delete_=True,
    crosskd=dict(student='neck', teacher='bbox_head',
                 teacher_module='bbox_head',
                 loss=dict(type='DenseHeadKDLoss', box='delta',
                           reg_weight=1.0, loss_weight=1.0))))
