"""The companion methods as configurations of the one mechanism: losses
switched on per stage, output losses through connectors and frozen teacher
modules, learned path weights, InDistill's channel selection."""
import pytest
import torch
import torch.nn.functional as F

from conftest import block_of, build_model
from mmstablekd.models import AdaptiveLossAggregator, ChannelSelection


def _batch(n=4):
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    return torch.rand(n, 3, 32, 32), [
        DataSample().set_gt_label(i % 4) for i in range(n)
    ]


def _reached(model, loss, params=None):
    """Names of the parameters (of ``params``, default: the whole model's
    trainable ones) that get a non-zero gradient from ``loss``."""
    params = params or {
        n: p
        for n, p in model.named_parameters() if p.requires_grad
    }
    grads = torch.autograd.grad(
        loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {
        n for n, g in zip(params, grads)
        if g is not None and g.abs().sum()
    }


def _student_blocks(names):
    return {
        block_of(n[len('student.'):])
        for n in names if n.startswith('student.')
    }


def test_active_losses_select_what_is_computed_whatever_the_grouping(
        cls_config):
    model = build_model(cls_config()).train()
    assert model.loss_names == ['task', 'feat_b0', 'feat_b1', 'feat_b2', 'kd']
    model.set_active_losses(['feat_b1'])
    losses = model.loss(*_batch())
    assert set(losses) == {'loss_feat_b1'}
    # end to end: the boundary-1 loss trains blocks 0 and 1 (and adapter 1)
    assert _student_blocks(_reached(model, losses['loss_feat_b1'])) == {0, 1}
    model.set_active_losses(['task', 'kd'])
    assert set(model.loss(*_batch())) == {'loss_ce', 'loss_kd'}
    model.set_active_losses(None)
    model.set_groups([[0, 1], [2, 3]])
    assert set(model.loss(*_batch())) == {'loss_ce', 'loss_kd',
                                          'loss_feat_b1'}


def test_unknown_active_loss_names_are_refused(cls_config):
    model = build_model(cls_config())
    with pytest.raises(ValueError, match=r"\['feat_b3'\]"):
        model.set_active_losses(['feat_b0', 'feat_b3'])
    with pytest.raises(ValueError, match='non-empty'):
        model.set_active_losses([])


def test_output_loss_through_connector_and_frozen_teacher_module(cls_config):
    """Softmax regression: the student's pooled feature, widened by a
    trainable connector, through the teacher's classifier, against the
    teacher's logits."""
    model = build_model(cls_config(extra='''
model = dict(output_losses=dict(sr=dict(
    student='neck', teacher='head', teacher_module='head.fc',
    connector=dict(type='ConvBNAdapter', in_channels=64, out_channels=128),
    loss=dict(type='FeatureMSELoss'))))
''')).train()
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        pooled = model.student.extract_feat(inputs)[-1]
    connector = model.output_paths.connectors['sr']
    fc = model.teacher.head.fc
    expected = F.mse_loss(fc(connector(pooled)), model.teacher(
        inputs, mode='tensor'))
    torch.testing.assert_close(losses['loss_sr'], expected)
    reached = _reached(model, losses['loss_sr'])
    assert any(n.startswith('output_paths.connectors.sr.') for n in reached)
    assert _student_blocks(reached) == {0, 1, 2, 3}
    assert not any(p.requires_grad for p in fc.parameters())
    assert 'head.fc' not in {n for n, _ in model.named_modules()}


def test_output_loss_entries_are_checked(cls_config):
    with pytest.raises(ValueError, match='connector= and teacher_module='):
        build_model(cls_config(extra='''
model = dict(output_losses=dict(x=dict(student='neck', teacher='neck')))
'''))
    with pytest.raises(ValueError, match="not be named 'feat_b0'"):
        build_model(cls_config(extra='''
model = dict(output_losses=dict(feat_b0=dict(
    student='neck', teacher='neck', loss=dict(type='FeatureMSELoss'))))
'''))


def test_adaptive_weights_follow_the_formula_and_share_across_boundaries():
    agg = AdaptiveLossAggregator(
        ['feat_b0', 'feat_b1', 'kd'], alpha=0.5)
    assert set(agg.log_weights) == {'feat', 'kd'}
    with torch.no_grad():
        agg.log_weights['feat'].fill_(0.3)
        agg.log_weights['kd'].fill_(-0.2)
    out = agg({'loss_feat_b0': torch.tensor(2.0),
               'loss_feat_b1': torch.tensor(4.0),
               'loss_kd': torch.tensor(1.0)})
    e = torch.exp
    s_feat, s_kd = torch.tensor(.3), torch.tensor(-.2)
    torch.testing.assert_close(out['loss_feat_b0'], 0.5 * e(-s_feat) * 2)
    torch.testing.assert_close(out['loss_feat_b1'], 0.5 * e(-s_feat) * 4)
    torch.testing.assert_close(out['loss_kd'], 0.5 * e(-s_kd) * 1)
    # the + s_i term once per path, not per boundary
    torch.testing.assert_close(out['loss_s_feat'], torch.tensor(0.15))
    torch.testing.assert_close(out['loss_s_kd'], torch.tensor(-0.1))
    torch.testing.assert_close(out['weight_feat'], e(-s_feat))
    assert not out['weight_kd'].requires_grad
    layer_wise = AdaptiveLossAggregator(['feat_b0', 'feat_b1', 'kd'],
                                        layer_wise=True)
    assert set(layer_wise.log_weights) == {'feat_b0', 'feat_b1', 'kd'}


def test_learned_weights_get_gradients_and_leave_task_losses_alone(
        cls_config):
    model = build_model(cls_config(extra='''
model = dict(loss_aggregator=dict(type='AdaptiveLossAggregator',
                                  layer_wise=True))
''')).train()
    model.set_groups([[0], [1], [2], [3]])
    losses = model.loss(*_batch())
    assert {'weight_feat_b0', 'weight_kd', 'loss_s_kd'} <= set(losses)
    assert 'weight_task' not in losses and 'loss_s_ce' not in losses
    total, _ = model.parse_losses(losses)
    weights = dict(model.loss_aggregator.log_weights.named_parameters())
    grads = torch.autograd.grad(total, list(weights.values()))
    assert all(g.abs() > 0 for g in grads)
    # CE is not re-weighted: its gradient reaches no aggregation weight
    assert not _reached(model, losses['loss_ce'], {
        n: p for n, p in model.named_parameters() if 'aggregator' in n})


def test_channel_selection_keeps_the_largest_l1_filters(cls_config):
    model = build_model(cls_config(extra='''
model = dict(alignment=dict(type='ChannelSelection'))
''')).train()
    for j, path in enumerate(model.teacher_plan.boundaries):
        selection = model.alignments.by_boundary[str(j)]
        assert isinstance(selection, ChannelSelection)
        last_conv = model.teacher.get_submodule(path)[-1].conv2
        norms = last_conv.weight.abs().sum(dim=(1, 2, 3))
        k = selection.out_channels
        expected = sorted(norms.argsort(descending=True)[:k])
        assert selection.indices.tolist() == [int(i) for i in expected]
    # the target of block 1 is the teacher's layer2 output at those channels
    model.set_groups([[0], [1], [2], [3]])
    inputs, samples = _batch()
    teacher_out, student_out = {}, {}
    model.teacher.backbone.layer2.register_forward_hook(
        lambda m, a, out: teacher_out.__setitem__('l2', out))
    model.student.backbone.layer2.register_forward_hook(
        lambda m, a, out: student_out.__setitem__('l2', out))
    losses = model.loss(inputs, samples)
    target = teacher_out['l2'][:, model.alignments.by_boundary['1'].indices]
    torch.testing.assert_close(losses['loss_feat_b1'],
                               model.feat_loss(student_out['l2'], target))
    assert not list(model.alignments.parameters())


def test_channel_selection_needs_a_teacher_at_least_as_wide(cls_config):
    with pytest.raises(ValueError, match='cannot widen 8 to 16'):
        build_model(cls_config(extra='''
model = dict(alignment=dict(type='ChannelSelection'),
             teacher=dict(backbone=dict(base_channels=8, stem_channels=8),
                          head=dict(in_channels=64)),
             student=dict(backbone=dict(base_channels=16, stem_channels=16),
                          head=dict(in_channels=128)))
'''))
