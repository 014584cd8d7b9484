# The CrossKD-style output path of a RetinaNet pair: the student's FPN levels
# run through the teacher's frozen RetinaHead and its predictions are
# distilled towards the teacher head's on the teacher's own levels
# (DenseHeadKDLoss: quality-focal KD on the class scores, GIoU of the decoded
# boxes; CrossKD's RetinaNet weights, 1 and 1). CrossKD crosses at an
# intermediate head layer, after re-normalising the features; here the
# whole head is crossed. A config takes it as
#   model = dict(output_losses=dict(_delete_=True, crosskd=_base_.crosskd))
crosskd = dict(student='neck', teacher='bbox_head', teacher_module='bbox_head',
               loss=dict(type='DenseHeadKDLoss', box='delta', reg_weight=1.0,
                         loss_weight=1.0))
