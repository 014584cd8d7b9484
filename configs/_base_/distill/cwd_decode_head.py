# Channel-wise distillation (CWD) of a segmentor's decode-head logits: per
# class channel a spatial softmax at temperature tau, then KL from the
# teacher's to the student's; MMRazor's cwd_logits_pspnet setting on
# Cityscapes (tau 1, weight 5). A config takes it as
#   model = dict(output_losses=dict(cwd=_base_.cwd))
cwd = dict(student='decode_head', teacher='decode_head',
           loss=dict(type='CWDLoss', tau=1.0, loss_weight=5.0))
