# CrossKD-style baseline on the shapes: the student's FPN levels (64 wide,
# as the teacher's) through the teacher's frozen RetinaHead, its predictions
# distilled towards the teacher head's on the teacher's own levels
# (DenseHeadKDLoss: quality-focal KD on the class scores, GIoU of the boxes
# decoded from RetinaNet's deltas).
_base_ = ['./kd_retinanet_r18-w32-w16_shapes.py']
model = dict(output_losses=dict(
    _delete_=True,
    crosskd=dict(student='neck', teacher='bbox_head',
                 teacher_module='bbox_head',
                 loss=dict(type='DenseHeadKDLoss', box='delta'))))
