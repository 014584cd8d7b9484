# CrossKD-style path and PKD together, COCO, RetinaNet R-101 -> R-50 (CrossKD's
# strongest published recipe: GFL R-50 43.9 with PKD, 43.7 without): the
# CrossKD twin plus PKD's loss on the FPN outputs, weight 10 per level as
# pkd_retinanet_r101-r50_fpn_1x_coco.py.
_base_ = ['./crosskd_retinanet_r101-r50_fpn_1x_coco.py']
model = dict(output_losses=dict(neck=dict(
    student='neck', teacher='neck',
    loss=dict(type='PKDLoss', loss_weight=10.0))))
