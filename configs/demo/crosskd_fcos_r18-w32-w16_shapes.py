# CrossKD-style baseline on the FCOS pair: the student's FPN levels through
# the teacher's frozen FCOSHead; its boxes are (l, t, r, b) distances, its
# centerness a third output (distilled where the teacher sees objects).
_base_ = ['./kd_fcos_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(
    _delete_=True,
    crosskd=dict(student='neck', teacher='bbox_head',
                 teacher_module='bbox_head',
                 loss=dict(type='DenseHeadKDLoss', box='distance'))))
