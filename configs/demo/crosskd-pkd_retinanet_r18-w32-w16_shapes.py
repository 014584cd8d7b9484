# CrossKD-style path and PKD together on the shapes (CrossKD's strongest
# published recipe, GFL R-50 43.9 on COCO): the CrossKD twin plus PKD's
# loss on the FPN outputs, weight 10 per level as the PKD twin.
_base_ = ['./crosskd_retinanet_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(neck=dict(
    student='neck', teacher='neck',
    loss=dict(type='PKDLoss', loss_weight=10.0))))
