# PKD baseline, COCO, RetinaNet R-50 -> R-18 (both FPNs 256 wide): as
# pkd_retinanet_r101-r50_fpn_1x_coco.py on the KD twin of this pair.
_base_ = ['./kd_retinanet_r50-r18_fpn_1x_coco.py']
model = dict(output_losses=dict(neck=dict(
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=10.0))))
