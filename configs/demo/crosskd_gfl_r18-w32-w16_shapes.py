# CrossKD-style baseline on the GFL pair: the student's FPN levels through
# the teacher's frozen GFLHead; its boxes are distributions over 17 bins per
# side (4 * 17 = 68 logits an anchor), compared by the GIoU of the boxes
# their expectations decode to (CrossKD's GFL recipe: GIoU on the decoded
# boxes, quality-focal KD on the joint scores).
_base_ = ['./kd_gfl_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(
    _delete_=True,
    crosskd=dict(student='neck', teacher='bbox_head',
                 teacher_module='bbox_head',
                 loss=dict(type='DenseHeadKDLoss', box='distribution',
                           box_dims=68))))
