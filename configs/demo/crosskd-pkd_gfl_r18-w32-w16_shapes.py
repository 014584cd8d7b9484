# CrossKD-style path and PKD together on the GFL pair (as
# crosskd-pkd_retinanet_r18-w32-w16_shapes.py).
_base_ = ['./crosskd_gfl_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(neck=dict(
    student='neck', teacher='neck',
    loss=dict(type='PKDLoss', loss_weight=10.0))))
