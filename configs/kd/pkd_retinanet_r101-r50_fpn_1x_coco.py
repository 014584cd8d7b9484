# PKD baseline, COCO: the feature-imitation KD twin with PKD's loss on the
# FPN outputs (each level standardised per channel in both networks, then
# MSE / 2 = 1 - Pearson r), weight 10 per level as PKD's one-stage configs.
# All five levels are distilled (MMRazor's PKD configs take four).
_base_ = ['./kd_retinanet_r101-r50_fpn_1x_coco.py']
model = dict(output_losses=dict(neck=dict(
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=10.0))))
