# CWD KD baseline on the segmentation shapes: the demo student learns from
# the demo teacher end to end (StableKD's model without a schedule): its own
# decode and auxiliary cross-entropies plus channel-wise distillation of the
# teacher's decode-head logits.
_base_ = ['./pspnet_r18-w16-d8_shapes-seg_student.py',
          '../_base_/distill/cwd_decode_head.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{_base_.model}},
    teacher=dict(
        cfg_path='{{ fileDirname }}/pspnet_r18-w32-d8_shapes-seg_teacher.py'),
    # written by tools/train.py on pspnet_r18-w32-d8_shapes-seg_teacher.py
    teacher_ckpt='work_dirs/pspnet_r18-w32-d8_shapes-seg_teacher/'
    'epoch_12.pth',
    # boundaries='auto' (the default): 5 blocks, stem + layer1 | layer2 |
    # layer3 | layer4 | decode + auxiliary head (every stage output the
    # heads receive; layer2-4 share the stride 8)
    output_losses=dict(cwd={{_base_.cwd}}),
    probe_input_shape=(3, 128, 128))

# next to every checkpoint, a student-only one that MMSegmentation's
# init_model loads with configs/demo/pspnet_r18-w16-d8_shapes-seg_student.py
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
