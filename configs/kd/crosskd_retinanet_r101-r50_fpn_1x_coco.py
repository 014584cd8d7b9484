# CrossKD-style baseline, COCO: instead of imitating the teacher's FPN
# outputs, the student's FPN levels run through the teacher's frozen
# RetinaHead and its predictions are distilled towards the teacher head's on
# the teacher's own levels (DenseHeadKDLoss: quality-focal KD on the class
# scores, GIoU of the decoded boxes; CrossKD's RetinaNet weights, 1 and 1).
# CrossKD crosses at an intermediate head layer, after re-normalising the
# features; here the whole head is crossed.
_base_ = ['./kd_retinanet_r101-r50_fpn_1x_coco.py']
model = dict(output_losses=dict(
    _delete_=True,
    crosskd=dict(student='neck', teacher='bbox_head',
                 teacher_module='bbox_head',
                 loss=dict(type='DenseHeadKDLoss', box='delta',
                           reg_weight=1.0, loss_weight=1.0))))
