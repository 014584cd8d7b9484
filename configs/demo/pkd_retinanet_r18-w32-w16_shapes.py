# PKD baseline on the shapes: the feature-imitation KD demo with PKD's loss
# on the FPN outputs (per-channel standardised, MSE / 2 = 1 - Pearson r),
# weight 10 per level as PKD's one-stage configs.
_base_ = ['./kd_retinanet_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(neck=dict(
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=10.0))))
