"""StableKD on detector pairs of the upstream MMDetection zoo (``mmdet::``
configs as they ship but for one noted override, teachers random, 64x64
images), cut as a careful user
cuts them: after every backbone stage, so that each stage output the neck
receives ends a block. Each pair: ``boundaries='auto'``'s plan, a
decomposed step whose groups are isolated, an end-to-end step that trains
every block, and ``predict``."""
import copy

import pytest
import torch
from mmengine.config import Config

from conftest import (build_model, detection_batch, reached_blocks,
                      stage_block)
from mmstablekd.models.algorithms.loss_keys import student_loss_keys
from mmstablekd.models.blocks import auto_boundaries
from mmstablekd.models.blocks.detection import neck_inputs


def _stages(prefix, names):
    return [f'backbone.{prefix}{name}' for name in names]


def _pair(teacher, student, teacher_boundaries, student_boundaries=None,
          **student_overrides):
    """A StableKD config distilling one ``mmdet::`` config into another,
    with overrides of the student's model; the student's boundaries default
    to the teacher's."""
    return Config(dict(default_scope='mmdet', model=dict(
        type='mmstablekd.StableKD',
        student=dict(cfg_path=f'mmdet::{student}', **student_overrides),
        teacher=dict(cfg_path=f'mmdet::{teacher}'),
        boundaries=dict(student=student_boundaries or teacher_boundaries,
                        teacher=teacher_boundaries),
        alignment=dict(type='PCAProjection'),
        probe_input_shape=(3, 64, 64))))


RESNET = _stages('layer', '1234')
CSP = _stages('stage', '1234')  # CSPNeXt (RTMDet) and CSPDarknet (YOLOX)
PAIRS = {
    # MobileNetV2's layers 1, 2, 3, 5, 7 end at the strides (2 to 32) where
    # Darknet-53's five residual stages end; the neck takes layers 3, 5, 7.
    # The two normalise images differently: the teacher is given its own
    # (see the last test).
    'yolov3_d53_to_mobilenetv2': _pair(
        'yolo/yolov3_d53_8xb8-320-273e_coco.py',
        'yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
        _stages('conv_res_block', '12345'), _stages('layer', '12357')),
    'rtmdet_l_to_s': _pair('rtmdet/rtmdet_l_8xb32-300e_coco.py',
                           'rtmdet/rtmdet_s_8xb32-300e_coco.py', CSP),
    'yolox_l_to_s': _pair('yolox/yolox_l_8xb8-300e_coco.py',
                          'yolox/yolox_s_8xb8-300e_coco.py', CSP),
    'mask_rcnn_r101_to_r50': _pair(
        'mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py',
        'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', RESNET),
    'detr_r101_to_r50': _pair('detr/detr_r101_8xb2-500e_coco.py',
                              'detr/detr_r50_8xb2-500e_coco.py', RESNET),
    # Swin's stages return (downsampled tokens, shape, the stage's tokens,
    # shape): read at the stage's own tokens, as maps of ResNet's strides
    'retinanet_swin_t_to_r50': _pair(
        'swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py',
        'retinanet/retinanet_r50_fpn_1x_coco.py',
        _stages('stages.', '0123'), RESNET),
}
# what boundaries='auto' gives (teacher, student) where it differs from the
# boundaries above: the four deepest stride levels; Swin read at the tokens
# its neck receives (after its output norms)
AUTO = {
    'yolov3_d53_to_mobilenetv2': (_stages('conv_res_block', '2345'),
                                  _stages('layer', '2357')),
    'retinanet_swin_t_to_r50': (['backbone.stages.0'] +
                                _stages('norm', '123'), RESNET),
}


@pytest.fixture(scope='module', params=list(PAIRS))
def model(request):
    model = build_model(copy.deepcopy(PAIRS[request.param])).train()
    model.pair = request.param
    return model


def _trainable_blocks(model):
    return {stage_block(model, n) for n, p in model.student.named_parameters()
            if p.requires_grad}


def _batch(model):
    return detection_batch(masks=model.student.with_mask)


def _sum(values):
    """A loss value is a tensor or, in MMDetection, a list per level."""
    return sum(sum(v) if isinstance(v, list) else v for v in values)


def test_every_stage_output_the_neck_receives_ends_a_block(model):
    for network, plan in ((model.student, model.student_plan),
                          (model.teacher, model.teacher_plan)):
        inputs = neck_inputs(network, (3, 64, 64))
        if inputs == ['backbone'] * len(inputs):
            # made by the backbone's code (Swin reshapes its normed tokens):
            # a teacher is only read, its neck never fed
            assert network is model.teacher
            continue
        received = [plan.boundaries.index(p) for p in inputs]
        assert plan.consumers['neck'].boundaries == received


def test_auto_boundaries_cut_each_pair_at_its_stages(model):
    auto = auto_boundaries(model.student, model.teacher, (3, 64, 64))
    teacher, student = AUTO.get(model.pair, (model.teacher_plan.boundaries,
                                             model.student_plan.boundaries))
    assert (auto['teacher'], auto['student']) == (teacher, student)


def test_student_loss_keys_are_known_at_build(model):
    # what StableKD checks for collisions with the distillation losses
    with torch.no_grad():
        keys = list(model.student.loss(*_batch(model)))
    assert student_loss_keys(model.student, model.probe_input_shape) == keys


def test_decomposed_step_trains_each_block_by_its_own_losses_only(model):
    model.set_groups([[j] for j in range(model.num_blocks)])
    losses = model.loss(*_batch(model))
    trainable = _trainable_blocks(model)
    for j in range(model.num_blocks - 1):
        feat = losses[f'loss_feat_b{j}']
        assert reached_blocks(model, feat) == {j} & trainable
    task = _sum(v for k, v in losses.items()
                if 'loss' in k and not k.startswith('loss_feat_b'))
    assert reached_blocks(model, task) == {model.num_blocks - 1}


def test_end_to_end_step_updates_every_block(model):
    model.set_groups([list(range(model.num_blocks))])
    losses = model.loss(*_batch(model))
    assert not any(k.startswith('loss_feat_b') for k in losses)
    total, _ = model.parse_losses(losses)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    total.backward()
    stepped = {n: p.detach().clone() for n, p in
               model.student.named_parameters() if p.grad is not None
               and p.grad.abs().sum() > 0}
    optimizer.step()
    optimizer.zero_grad()
    params = dict(model.student.named_parameters())
    changed = {n for n, before in stepped.items()
               if not torch.equal(params[n], before)}
    assert {stage_block(model, n) for n in changed} == _trainable_blocks(model)
    assert all(torch.isfinite(p).all() for p in params.values())


def test_predict_runs_the_student_alone(model):
    ran = []
    handle = model.teacher.backbone.register_forward_pre_hook(
        lambda *args: ran.append('teacher'))
    model.eval()
    try:
        with torch.no_grad():
            predictions = model(*_batch(model), mode='predict')
    finally:
        handle.remove()
        model.train()
    assert len(predictions) == 2 and not ran
    assert all(p.pred_instances.bboxes.shape[1:] == (4, )
               for p in predictions)


def test_each_network_sees_the_batch_in_its_own_normalisation(model):
    """Darknet-53 takes pixels / 255, MobileNetV2 the ImageNet mean and
    std: the teacher runs on the student's batch renormalised its way."""
    raw = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
                       for _ in range(2)],
               data_samples=_batch(model)[1])
    seen = {}
    handles = [
        net.backbone.register_forward_pre_hook(
            lambda m, args, role=role: seen.setdefault(role, args[0]))
        for role, net in (('student', model.student),
                          ('teacher', model.teacher))
    ]
    model.set_groups([[j] for j in range(model.num_blocks)])
    try:
        student_batch = model.data_preprocessor(raw, False)
        model.loss(**student_batch)
    finally:
        for handle in handles:
            handle.remove()
    own = model.teacher.data_preprocessor(raw, False)['inputs']
    torch.testing.assert_close(seen['teacher'], own)
    torch.testing.assert_close(seen['student'], student_batch['inputs'])
    assert model.teacher_input.active == (
        model.pair == 'yolov3_d53_to_mobilenetv2')
