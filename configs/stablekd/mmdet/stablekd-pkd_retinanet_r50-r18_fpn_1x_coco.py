# StableKD with PKD's loss: the StableKD config of this pair with the FPN
# imitation by PKDLoss (as kd/pkd_retinanet_r50-r18_fpn_1x_coco.py) and the
# backbone stages' targets too (PKD-style standardised feature loss; weight
# 1 per boundary, not measured on COCO).
_base_ = ['./stablekd_retinanet_r50-r18_fpn_1x_coco.py']
model = dict(
    feat_loss=dict(type='PKDLoss', loss_weight=1.0),
    output_losses=dict(neck=dict(
        loss=dict(_delete_=True, type='PKDLoss', loss_weight=10.0))))
