"""The same block machinery on an MMDetection RetinaNet (groundwork for the
detection issue): the neck's tuple input is fed per stage output."""
import pytest
import torch

from conftest import build_model, detection_batch, write_config
from mmengine.config import Config

STAGES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
          'backbone.layer4']
CONFIG = f'''
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{{{_base_.model}}}},
    teacher=dict(cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
                 backbone=dict(depth=18), neck=dict(in_channels=[64, 128,
                                                               256, 512])),
    boundaries=dict(student={STAGES!r}, teacher={STAGES!r}),
    output_losses=dict(neck=dict(student='neck', teacher='neck',
                                 loss=dict(type='FeatureMSELoss'))),
    probe_input_shape=(3, 64, 64))
'''


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    path = write_config(tmp_path_factory.mktemp('det'), CONFIG)
    return build_model(Config.fromfile(path)).train()


def _reached(model, loss):
    loss = sum(loss) if isinstance(loss, list) else loss
    params = {n: p for n, p in model.student.named_parameters()
              if p.requires_grad}
    grads = torch.autograd.grad(loss, list(params.values()),
                                allow_unused=True, retain_graph=True)
    return {n.split('.')[0] + '.' + n.split('.')[1]
            for n, g in zip(params, grads) if g is not None and g.abs().sum()}


def test_neck_consumes_every_stage_output_in_the_last_block(detector):
    neck = detector.student_plan.consumers['neck']
    assert (neck.block, neck.boundaries) == (4, [0, 1, 2, 3])


def test_decomposed_detector_groups_are_isolated(detector):
    detector.set_groups([[0], [1], [2], [3], [4]])
    losses = detector.loss(*detection_batch())
    # detection losses keep MMDetection's names and reach only neck + head
    assert _reached(detector, losses['loss_cls']) == {
        'neck.lateral_convs', 'neck.fpn_convs', 'bbox_head.cls_convs',
        'bbox_head.retina_cls'}
    assert _reached(detector, losses['loss_bbox']) >= {'bbox_head.retina_reg'}
    assert not any(p.startswith('backbone') for p in _reached(
        detector, losses['loss_bbox']))
    assert _reached(detector, losses['loss_feat_b2']) == {'backbone.layer3'}


def test_merged_detector_group_trains_the_backbone_through_the_neck(
        detector):
    detector.set_groups([[0, 1, 2, 3, 4]])
    losses = detector.loss(*detection_batch())
    assert {'backbone.layer2', 'backbone.layer3', 'backbone.layer4'} <= \
        _reached(detector, losses['loss_cls'])


def test_half_merged_detector_feeds_the_neck_teacher_and_own_features(
        detector):
    # groups [0 1] [2 3 4]: the neck receives the teacher's layer1/layer2
    # outputs and the student's own layer3/layer4 outputs
    detector.set_groups([[0, 1], [2, 3, 4]])
    losses = detector.loss(*detection_batch())
    reached = _reached(detector, losses['loss_cls'])
    assert {'backbone.layer3', 'backbone.layer4', 'neck.lateral_convs',
            'bbox_head.retina_cls'} <= reached
    assert not reached & {'backbone.layer1', 'backbone.layer2'}
    assert _reached(detector, losses['loss_feat_b1']) == {
        'backbone.layer2'}  # layer1 is frozen (frozen_stages=1)


def test_teacher_runs_backbone_and_neck_only(detector):
    calls = []
    handles = [getattr(detector.teacher, name).register_forward_pre_hook(
        lambda *args, name=name: calls.append(name))
        for name in ('backbone', 'neck', 'bbox_head')]
    detector.set_groups([[0], [1], [2], [3], [4]])
    detector.loss(*detection_batch())
    for handle in handles:
        handle.remove()
    assert calls == ['backbone', 'neck']


def _build_with(tmp_path, extra):
    write_config(tmp_path, CONFIG, 'base.py')
    path = write_config(tmp_path, "_base_ = ['./base.py']\n" + extra)
    return build_model(Config.fromfile(path))


THREE = STAGES[:3]


@pytest.mark.parametrize('extra, message', [
    (f"model = dict(boundaries=dict(student={STAGES[:3] + ['neck']!r}))",
     "student boundaries ['neck'] are not in the backbone"),
    # the FPN receives layer4's output, which ends no block
    (f'model = dict(boundaries=dict(student={THREE!r}, teacher={THREE!r}))',
     "The student neck receives the outputs of ['backbone.layer4'], which "
     'end no block'),
    ('model = dict(teacher=dict(neck=dict(in_channels=[64, 128, 256, 256])))',
     "The teacher neck (FPN, in_channels=[64, 128, 256, 256]) fails on the "
     "backbone's 4 stage outputs of widths [64, 128, 256, 512] (from "
     "['backbone.layer1', 'backbone.layer2', 'backbone.layer3', "
     "'backbone.layer4'])"),
    # FPN asserts one in_channels entry per input
    ('model = dict(teacher=dict(neck=dict(in_channels=[128, 256, 512])))',
     "The teacher neck (FPN, in_channels=[128, 256, 512]) fails on the "
     "backbone's 4 stage outputs of widths [64, 128, 256, 512]"),
    ('model = dict(teacher=dict(bbox_head=dict(num_classes=3)))',
     'different numbers of classes (bbox_head.num_classes: student 80, '
     'teacher 3)'),
    # RetinaNet's own classification loss is logged as loss_cls
    ("model = dict(output_losses=dict(cls=dict(student='bbox_head', "
     "teacher='bbox_head', loss=dict(type='FeatureMSELoss'))))",
     "'loss_cls' by the student's own 'loss_cls' and output_losses['cls']"),
])
def test_bad_detection_config_fails_at_build(tmp_path, extra, message):
    with pytest.raises(ValueError) as err:
        _build_with(tmp_path, extra)
    assert message in str(err.value)


def test_a_caffe_style_teacher_gets_its_own_normalisation(tmp_path):
    # BGR, mean only, against the student's RGB, mean and std
    model = _build_with(tmp_path, (
        "model = dict(teacher=dict(data_preprocessor=dict(mean=[103.53, "
        "116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)))"))
    raw = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)])
    student = model.data_preprocessor(raw, False)['inputs']
    teacher = model.teacher.data_preprocessor(raw, False)['inputs']
    assert model.teacher_input.swap
    torch.testing.assert_close(model.teacher_input(student), teacher)


def test_fpn_outputs_of_different_lengths_are_an_error_not_truncated(
        tmp_path):
    model = _build_with(
        tmp_path, 'model = dict(teacher=dict(neck=dict(num_outs=4)))')
    with pytest.raises(ValueError, match=r"output_losses\['neck'\] compares "
                       '5 student tensors with 4 teacher tensors'):
        model.train().loss(*detection_batch())


FASTER_RCNN = f'''
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                 backbone=dict(depth=18, init_cfg=None),
                 neck=dict(in_channels=[64, 128, 256, 512])),
    teacher={{{{_base_.model}}}},
    boundaries=dict(student={STAGES!r}, teacher={STAGES!r}),
    alignment=dict(type='PCAProjection'),
    probe_input_shape=(3, 64, 64))
'''


def test_two_stage_detector_with_alignments_keeps_groups_isolated(tmp_path):
    # Faster R-CNN R-50 -> R-18: alignments at every stage; the RPN and
    # the RoI head both sit in the last block
    model = build_model(Config.fromfile(
        write_config(tmp_path, FASTER_RCNN))).train()
    assert sorted(model.alignments.by_boundary) == ['0', '1', '2', '3']
    model.set_groups([[0], [1], [2], [3], [4]])
    losses = model.loss(*detection_batch())
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_bbox'):
        assert not any(p.startswith('backbone') for p in _reached(
            model, losses[key])), key
    assert 'rpn_head.rpn_conv' in _reached(model, losses['loss_rpn_cls'])
    assert 'roi_head.bbox_head' in _reached(model, losses['loss_cls'])
    assert _reached(model, losses['loss_feat_b3']) == {'backbone.layer4'}


def test_student_loss_keys_of_one_and_two_stage_detectors(tmp_path,
                                                          detector):
    from mmstablekd.models.algorithms.loss_keys import student_loss_keys
    faster_rcnn = build_model(Config.fromfile(
        write_config(tmp_path, FASTER_RCNN))).student
    assert sorted(student_loss_keys(faster_rcnn, (3, 64, 64))) == [
        'acc', 'loss_bbox', 'loss_cls', 'loss_rpn_bbox', 'loss_rpn_cls']
    assert student_loss_keys(detector.student, (3, 64, 64)) == [
        'loss_cls', 'loss_bbox']


R50_LAST_THREE = dict(backbone=dict(out_indices=(1, 2, 3)),
                      neck=dict(in_channels=[512, 1024, 2048]))


@pytest.mark.parametrize('cfg_path, overrides, expected', [
    ('retinanet/retinanet_r50_fpn_1x_coco.py', {}, STAGES),
    ('retinanet/retinanet_r50_fpn_1x_coco.py', R50_LAST_THREE, STAGES[1:]),
    ('yolo/yolov3_d53_8xb8-320-273e_coco.py', {}, [
        'backbone.conv_res_block3', 'backbone.conv_res_block4',
        'backbone.conv_res_block5']),
    ('rtmdet/rtmdet_s_8xb32-300e_coco.py', {},
     ['backbone.stage2', 'backbone.stage3', 'backbone.stage4']),
    ('yolox/yolox_s_8xb8-300e_coco.py', {},
     ['backbone.stage2', 'backbone.stage3', 'backbone.stage4']),
    ('detr/detr_r50_8xb2-500e_coco.py', {}, ['backbone.layer4']),
])
def test_neck_inputs_are_the_stages_the_backbone_returns(
        cfg_path, overrides, expected):
    from mmengine.registry import DefaultScope, MODELS

    from mmstablekd.models.blocks.detection import neck_inputs
    from mmstablekd.models.model_config import resolve_model_cfg
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(resolve_model_cfg(
            dict(cfg_path=f'mmdet::{cfg_path}', **overrides)))
    assert neck_inputs(model, (3, 64, 64)) == expected
