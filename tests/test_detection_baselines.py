"""The detection KD baselines: PKD's standardised feature loss, and the
CrossKD-style path (the student's FPN levels through the teacher's frozen
head, :class:`DenseHeadKDLoss` on the head's outputs), as losses, inside a
real RetinaNet pair, and through a Runner on the shipped shapes configs."""
import copy

import pytest
import torch
from mmdet.models.dense_heads.gfl_head import Integral
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import bbox_overlaps, distance2bbox
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import build_model, detection_batch, shapes_demo_config
from mmstablekd.datasets.shapes import make_shapes_coco
from mmstablekd.models.losses import DenseHeadKDLoss, PKDLoss


# ------------------------------------------------------------------ PKD
def _pearson_loss(s, t):
    """mean over channels of 1 - Pearson r over (N, H, W), by the book."""
    rows = [torch.corrcoef(torch.stack([s[:, c].flatten(), t[:, c].flatten()
                                        ]))[0, 1] for c in range(s.shape[1])]
    return 1 - torch.stack(rows).mean()


def test_pkd_is_one_minus_the_channels_mean_pearson_correlation():
    torch.manual_seed(0)
    t = torch.randn(3, 4, 5, 6)
    s = 0.5 * t + torch.randn(3, 4, 5, 6)
    torch.testing.assert_close(PKDLoss(eps=0)(s, t), _pearson_loss(s, t))
    torch.testing.assert_close(
        PKDLoss(eps=0, loss_weight=6.)(s, t), 6 * _pearson_loss(s, t))


def test_pkd_ignores_each_channels_scale_and_offset_in_either_network():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    scale = torch.tensor([0.01, 3., 200.]).view(1, 3, 1, 1)
    offset = torch.tensor([-5., 0., 40.]).view(1, 3, 1, 1)
    loss = PKDLoss(eps=0)
    torch.testing.assert_close(loss(s * scale + offset, t), loss(s, t))
    torch.testing.assert_close(loss(s, t * scale + offset), loss(s, t))
    # but not a sign flip: that reverses the correlation
    assert not torch.allclose(loss(-s, t), loss(s, t))


def test_pkd_is_zero_for_identical_features_and_two_for_opposite():
    feat = torch.randn(2, 3, 4, 4)
    assert PKDLoss()(feat, feat).item() == pytest.approx(0, abs=1e-6)
    assert PKDLoss()(-feat, feat).item() == pytest.approx(2, abs=1e-5)


def test_pkd_takes_channels_last_tokens():
    torch.manual_seed(0)
    s, t = torch.randn(2, 7, 3), torch.randn(2, 7, 3)  # (N, L, C)
    as_maps = PKDLoss()(s.permute(0, 2, 1)[..., None],
                        t.permute(0, 2, 1)[..., None])
    torch.testing.assert_close(PKDLoss()(s, t), as_maps)


def test_pkd_trains_the_student_only():
    s = torch.randn(2, 3, 4, 4, requires_grad=True)
    t = torch.randn(2, 3, 4, 4, requires_grad=True)
    PKDLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_pkd_refuses_features_of_different_shapes():
    with pytest.raises(ValueError, match='connector='):
        PKDLoss()(torch.randn(2, 3, 4, 4), torch.randn(2, 5, 4, 4))


# ----------------------------------------------------- head-output KD
def _head_outputs(anchors=2, classes=3, extras=0, seed=0):
    """A dense head's ``(cls_scores, bbox_preds, *extras)`` for 2 levels."""
    g = torch.Generator().manual_seed(seed)
    groups = [anchors * classes, anchors * 4] + [anchors] * extras
    return tuple([torch.randn(2, c, s, s, generator=g) for s in (4, 2)]
                 for c in groups)


def test_head_kd_is_zero_when_the_student_predicts_what_the_teacher_does():
    out = _head_outputs(extras=1)
    for box in ('delta', 'raw'):
        assert DenseHeadKDLoss(box=box)(out, out).item() == pytest.approx(
            0, abs=1e-5)
    assert DenseHeadKDLoss()(_head_outputs(seed=1), _head_outputs()) > 0.1


def test_head_kd_trains_the_student_outputs_only():
    student = tuple([t.requires_grad_() for t in g] for g in
                    _head_outputs(extras=1, seed=1))
    teacher = tuple([t.requires_grad_() for t in g] for g in
                    _head_outputs(extras=1))
    DenseHeadKDLoss()(student, teacher).backward()
    assert all(t.grad.abs().sum() > 0 for g in student for t in g)
    assert all(t.grad is None for g in teacher for t in g)


def _giou_term(student, teacher, box, box_dims=4):
    """The box term alone, for one anchor: a teacher score of 0 logits on
    1 class weighs it by 1/2 (the normaliser, at least 1, is 1), and the
    class term is 0."""
    cls = [torch.zeros(1, 1, 1, 1)]
    return DenseHeadKDLoss(box=box, box_dims=box_dims)(
        (cls, [student.view(1, box_dims, 1, 1)]),
        (cls, [teacher.view(1, box_dims, 1, 1)])) / 0.5


def test_head_kd_compares_retinanet_deltas_by_the_giou_of_decoded_boxes():
    # any anchor: GIoU is unchanged by its position and aspect ratio
    anchor = torch.tensor([[30., 10., 70., 30.]])
    coder = DeltaXYWHBBoxCoder()
    s, t = torch.tensor([0.2, -0.1, 0.3, 0.5]), torch.tensor([0., 0., 0, 0.])
    boxes = coder.decode(anchor.repeat(2, 1), torch.stack([s, t]),
                         max_shape=None)
    expected = 1 - bbox_overlaps(boxes[:1], boxes[1:], mode='giou',
                                 is_aligned=True)
    torch.testing.assert_close(_giou_term(s, t, 'delta').view(1), expected)


def test_head_kd_compares_fcos_distances_by_the_giou_of_decoded_boxes():
    point = torch.tensor([[50., 40.]])
    s, t = torch.tensor([3., 8., 10., 2.]), torch.tensor([5., 5., 5., 5.])
    boxes = distance2bbox(point.repeat(2, 1), torch.stack([s, t]))
    expected = 1 - bbox_overlaps(boxes[:1], boxes[1:], mode='giou',
                                 is_aligned=True)
    torch.testing.assert_close(_giou_term(s, t, 'distance').view(1),
                               expected)


def test_head_kd_compares_gfl_distributions_by_the_giou_of_decoded_boxes():
    # GFLHead decodes 4 x 17 bin logits by their expectation (Integral),
    # in strides from the anchor's centre
    point, stride = torch.tensor([[50., 40.]]), 8.
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(2, 68, generator=g) * 3
    integral = Integral(reg_max=16)
    boxes = distance2bbox(point.repeat(2, 1),
                          integral(torch.stack([s, t])) * stride)
    expected = 1 - bbox_overlaps(boxes[:1], boxes[1:], mode='giou',
                                 is_aligned=True)
    assert expected.item() > 0.05  # two different boxes
    torch.testing.assert_close(
        _giou_term(s, t, 'distribution', box_dims=68).view(1), expected)
    assert _giou_term(t, t, 'distribution', box_dims=68).item() == \
        pytest.approx(0, abs=1e-6)


def test_head_kd_refuses_box_sizes_its_encoding_cannot_have():
    with pytest.raises(ValueError, match="box='distribution'"):
        DenseHeadKDLoss(box='distance', box_dims=68)
    with pytest.raises(ValueError, match=r'4 \* \(reg_max \+ 1\)'):
        DenseHeadKDLoss(box='distribution', box_dims=66)


def test_head_kd_refuses_outputs_of_different_heads():
    with pytest.raises(ValueError, match="teacher_module='bbox_head'"):
        DenseHeadKDLoss()(_head_outputs(classes=3), _head_outputs(classes=4))


# ------------------------------------------- the path in a real pair
STAGES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
          'backbone.layer4']
HEAD = dict(num_classes=3, in_channels=16, feat_channels=16,
            stacked_convs=1)


def _pair(student_width=8, **output_losses):
    """RetinaNet R-18 pair (``mmdet::`` configs), FPNs 16 wide."""
    def net(width):
        return dict(cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                    backbone=dict(base_channels=width, init_cfg=None),
                    neck=dict(in_channels=[width * 2**i for i in range(4)],
                              out_channels=16),
                    bbox_head=HEAD)

    return Config(dict(default_scope='mmdet', model=dict(
        type='mmstablekd.StableKD', student=net(student_width),
        teacher=net(16), boundaries=dict(student=STAGES, teacher=STAGES),
        feat_loss=dict(type='PKDLoss'), output_losses=output_losses,
        probe_input_shape=(3, 64, 64))))


CROSSKD = dict(crosskd=dict(student='neck', teacher='bbox_head',
                            teacher_module='bbox_head',
                            loss=dict(type='DenseHeadKDLoss')))
PKD = dict(pkd=dict(student='neck', teacher='neck',
                    loss=dict(type='PKDLoss', loss_weight=10.)))


def test_crosskd_runs_the_students_levels_through_the_teachers_head():
    model = build_model(_pair(**CROSSKD)).train()
    inputs, samples = detection_batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        head = model.teacher.bbox_head
        expected = DenseHeadKDLoss()(
            head(model.student.extract_feat(inputs)),
            head(model.teacher.extract_feat(inputs)))
    torch.testing.assert_close(losses['loss_crosskd'].detach(), expected)


def test_crosskd_trains_the_student_below_its_head_and_leaves_the_teacher():
    model = build_model(_pair(**CROSSKD)).train()
    model.loss(*detection_batch())['loss_crosskd'].backward()
    grads = {n: p.grad for n, p in model.student.named_parameters()
             if p.requires_grad}  # upstream freezes the stem and layer1
    assert all(grads[n] is not None and grads[n].abs().sum() > 0
               for n in grads if n.startswith(('backbone.', 'neck.')))
    # the student's own head is not on the crossed path
    assert all(g is None for n, g in grads.items()
               if n.startswith('bbox_head.'))
    assert all(p.grad is None and not p.requires_grad
               for p in model.teacher.parameters())
    assert model.teacher.bbox_head.training is False
    assert 'bbox_head' not in dict(model.named_modules()).keys() - {
        n for n, _ in model.student.named_modules()}


@pytest.mark.parametrize('losses', [CROSSKD, PKD], ids=['crosskd', 'pkd'])
def test_baselines_vanish_when_the_student_has_the_teachers_weights(losses):
    model = build_model(_pair(student_width=16, **losses)).train()
    model.student.load_state_dict(model.teacher.state_dict())
    model.student.eval()  # the teacher's BN statistics, as it runs
    name = 'loss_' + next(iter(losses))
    assert model.loss(*detection_batch())[name].item() == pytest.approx(
        0, abs=1e-4)


def test_teacher_head_output_is_recorded_though_run_by_head_forward():
    """MMDetection's 'tensor' mode calls ``bbox_head.forward(x)``, which
    skips forward hooks; a deep copy of the teacher runs its own weights."""
    model = build_model(_pair(**CROSSKD))
    inputs, samples = detection_batch()
    recorded = model._run_teacher(inputs, samples, ['bbox_head'])
    expected = model.teacher(inputs, mode='tensor')
    torch.testing.assert_close(recorded['bbox_head'], expected)
    twin = copy.deepcopy(model.teacher)
    with torch.no_grad():
        for p in twin.bbox_head.parameters():
            p.zero_()
    assert all(t.abs().sum() == 0 for t in twin(inputs, mode='tensor')[1])


# --------------------------------------- through a Runner, shipped configs
@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('shapes')) + '/'
    make_shapes_coco(root, 'train', 4, seed=0)
    make_shapes_coco(root, 'val', 2, seed=1)
    return root


class Metrics(Hook):
    """Keeps the validation metrics in ``metrics``."""

    def __init__(self, metrics: dict):
        self.metrics = metrics

    def after_val_epoch(self, runner, metrics=None):
        self.metrics.update(metrics or {})


@pytest.mark.parametrize('config', [
    'pkd_retinanet_r18-w32-w16_shapes.py',
    'crosskd_retinanet_r18-w32-w16_shapes.py',
    'crosskd_fcos_r18-w32-w16_shapes.py',
    'crosskd_gfl_r18-w32-w16_shapes.py',
])
def test_shipped_baseline_trains_through_a_runner(config, shapes, tmp_path):
    runner = Runner.from_cfg(shapes_demo_config(config, shapes,
                                                str(tmp_path), iters=3))
    teacher = {n: p.clone() for n, p in
               runner.model.teacher.state_dict().items()}
    student = {n: p.clone() for n, p in
               runner.model.student.named_parameters()}
    metrics = {}
    runner.register_hook(Metrics(metrics))
    runner.train()
    scalars = runner.message_hub.log_scalars
    name = 'train/loss_' + next(iter(runner.cfg.model.output_losses))
    assert len(scalars[name].data[0]) == 3
    assert all(torch.isfinite(torch.tensor(v))
               for v in scalars[name].data[0])
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    after = runner.model.teacher.state_dict()
    assert all(torch.equal(teacher[n], after[n]) for n in teacher)
    assert any(not torch.equal(student[n], p)
               for n, p in runner.model.student.named_parameters())
