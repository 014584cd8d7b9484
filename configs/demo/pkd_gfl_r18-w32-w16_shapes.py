# PKD baseline on the GFL pair (as pkd_retinanet_r18-w32-w16_shapes.py).
_base_ = ['./kd_gfl_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(neck=dict(
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=10.0))))
