"""Boundary alignments where teacher and student widths differ: what a block
learns to output is what the next block is fed (consistency), fixed
alignments do not move while the student trains (stationarity), and the
default keeps as much of the teacher's feature as the student's width
holds."""
import pytest
import torch

from conftest import build_model
from mmstablekd.models import PCAProjection
from mmstablekd.models.connectors import ChannelSelection

ALIGNMENTS = ['PCAProjection', 'ChannelSelection', 'ConvBNAdapter']


def _batch(n=4):
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    return (torch.rand(n, 3, 32, 32),
            [DataSample().set_gt_label(i % 4) for i in range(n)])


def _model(cls_config, alignment):
    return build_model(cls_config(
        extra=f"model = dict(alignment=dict(type='{alignment}'))")).train()


@pytest.mark.parametrize('alignment', ALIGNMENTS)
def test_a_block_learns_exactly_the_tensor_the_next_block_is_fed(
        cls_config, alignment):
    model = _model(cls_config, alignment)
    assert sorted(model.alignments.by_boundary) == ['0', '1', '2']
    model.set_groups([[0], [1], [2], [3]])
    fed, targets = {}, []
    for j, name in enumerate(('layer2', 'layer3', 'layer4')):
        getattr(model.student.backbone, name).register_forward_pre_hook(
            lambda m, args, j=j: fed.__setitem__(j, args[0]))
    model.feat_loss.register_forward_pre_hook(
        lambda m, args: targets.append(args[1]))
    losses = model.loss(*_batch())
    assert len(targets) == 3
    for j, target in enumerate(targets):
        # the same values, detached: the feature loss never trains the
        # alignment towards what block j happens to output
        assert torch.equal(target, fed[j].detach())
        assert not target.requires_grad
        assert fed[j].shape[1] == model.student_plan.channels[j]
    params = list(model.alignments.by_boundary['1'].parameters())
    if params:  # a learned alignment learns only from the block it feeds
        grads = torch.autograd.grad(losses['loss_feat_b1'], params,
                                    allow_unused=True, retain_graph=True)
        assert all(g is None for g in grads)
        fed_by_0 = list(model.alignments.by_boundary['0'].parameters())
        assert all(g is not None for g in torch.autograd.grad(
            losses['loss_feat_b1'], fed_by_0, retain_graph=True))


@pytest.mark.parametrize('alignment', ['PCAProjection', 'ChannelSelection'])
def test_fixed_alignments_do_not_move_while_the_student_trains(
        cls_config, alignment):
    model = _model(cls_config, alignment)
    assert not list(model.alignments.parameters())
    model.set_groups([[0], [1], [2], [3]])
    probe = [torch.rand(2, c, 8, 8) for c in model.teacher_plan.channels]
    before = [model.alignments(j, t) for j, t in enumerate(probe)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        loss, _ = model.parse_losses(model.loss(*_batch()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.set_groups([[0, 1], [2, 3]])  # nor when the grouping changes
    model.loss(*_batch())
    for j, t in enumerate(probe):
        assert torch.equal(model.alignments(j, t), before[j])


def test_equal_widths_need_no_alignment_and_no_fit(cls_config):
    model = build_model(cls_config(extra='''
        model = dict(teacher=dict(backbone=dict(base_channels=8,
                                                stem_channels=8),
                                  head=dict(in_channels=64)))
        '''), fit_alignments=False)
    assert len(model.alignments.by_boundary) == 0
    assert model.fit_alignments([]) == {}
    teacher_feat = torch.rand(2, 8, 32, 32)
    assert model.alignments(0, teacher_feat) is teacher_feat


def _low_rank_features(n=4096, c_t=32, rank=8):
    """Teacher-like features: ``rank`` latent factors mixed into ``c_t``
    channels, plus a little noise; never negative (after a ReLU)."""
    generator = torch.Generator().manual_seed(0)
    latent = torch.randn(n, rank, generator=generator) * torch.linspace(
        4, 1, rank)
    mixing = torch.randn(rank, c_t, generator=generator)
    noise = 0.01 * torch.randn(n, c_t, generator=generator)
    return (latent @ mixing + noise).relu()


def test_pca_keeps_more_of_the_teacher_than_channel_selection():
    teacher = _low_rank_features()
    pca = PCAProjection(32, 8)
    kept = pca.fit(teacher, teacher[:, :8])['kept_variance']
    total = teacher.var(0).sum()

    # the student-width code of PCA reconstructs the teacher's feature
    # (least squares from the code back to the teacher's channels)
    def unexplained(code):
        code = torch.cat([code, torch.ones(len(code), 1)], 1)
        fit = torch.linalg.lstsq(code, teacher).solution
        return ((code @ fit - teacher).var(0).sum() / total).item()

    assert kept > 0.8
    selection = ChannelSelection(32, 8)  # any 8 of the 32 channels
    assert unexplained(pca(teacher)) < 0.6 * unexplained(selection(teacher))
    assert unexplained(pca(teacher)) == pytest.approx(1 - kept, abs=0.02)


def test_pca_matches_the_students_range():
    teacher = _low_rank_features()
    after_relu = PCAProjection(32, 8)
    after_relu.fit(teacher, torch.rand(100, 8))  # student never negative
    assert (after_relu(teacher) >= 0).all()
    signed = PCAProjection(32, 8)
    signed.fit(teacher, torch.randn(100, 8))  # e.g. a linear bottleneck
    assert (signed(teacher) < 0).any()
    # the shift is a constant per channel: nothing is lost by it
    torch.testing.assert_close(after_relu(teacher) - signed(teacher),
                               (after_relu.bias - signed.bias).expand(
                                   len(teacher), -1).float())
    # maps (N, C, H, W) and channels-last inputs alike
    maps = teacher[:8].reshape(2, 2, 2, 32).permute(0, 3, 1, 2)
    torch.testing.assert_close(
        after_relu(maps).permute(0, 2, 3, 1).reshape(8, 8),
        after_relu(teacher[:8]))


def test_training_without_the_fit_names_the_hook(cls_config):
    model = build_model(cls_config(), fit_alignments=False)
    model.set_groups([[0], [1], [2], [3]])
    with pytest.raises(RuntimeError, match='AlignmentFitHook'):
        model.loss(*_batch())
    # end to end (plain KD) no alignment is used: no fit needed
    model.set_groups([[0, 1, 2, 3]])
    assert 'loss_kd' in model.loss(*_batch())


def test_pca_for_a_wider_student_keeps_everything_and_pads_zeros():
    teacher = _low_rank_features(c_t=8, rank=8)
    pca = PCAProjection(8, 12, match_range=False)
    report = pca.fit(teacher, torch.randn(16, 12))
    out = pca(teacher)
    assert report['kept_variance'] == pytest.approx(1.0)
    assert torch.equal(out[:, 8:], torch.zeros(len(teacher), 4))
    # the first 8 channels are an orthogonal map of the centred teacher
    centred = teacher - teacher.mean(0)
    torch.testing.assert_close(out[:, :8].norm(dim=1), centred.norm(dim=1),
                               rtol=1e-4, atol=1e-4)


FIT_SCHEDULE = '''
custom_hooks = [dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]])]),
                {fit_hook}]
train_cfg = dict(max_epochs={epochs})
'''
FIT_HOOK = "dict(type='mmstablekd.AlignmentFitHook', num_batches=2)"


# RecompositionHook fits what its stages use by itself; AlignmentFitHook
# (before it) chooses the batches
@pytest.mark.parametrize('fit_hook', [FIT_HOOK, ''],
                         ids=['AlignmentFitHook', 'RecompositionHook'])
def test_the_fit_hook_fits_once_and_checkpoints_keep_the_fit(
        cls_config, monkeypatch, fit_hook):
    from mmengine.runner import Runner

    from mmstablekd.models import StableKD
    calls = []
    fit = StableKD.fit_alignments
    monkeypatch.setattr(
        StableKD, 'fit_alignments',
        lambda self, *a, **kw: calls.append(1) or fit(self, *a, **kw))
    cfg = cls_config(extra=FIT_SCHEDULE.format(epochs=1, fit_hook=fit_hook))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert calls == [1]
    ckpt = torch.load(f'{cfg.work_dir}/epoch_1.pth', weights_only=True)
    fitted = {k: v for k, v in ckpt['state_dict'].items()
              if k.startswith('alignments.')}
    assert all(bool(fitted[f'alignments.by_boundary.{j}.fitted'])
               for j in range(3))
    # a resumed run keeps the fit it was trained with, and fits nothing
    cfg = cls_config(extra=FIT_SCHEDULE.format(epochs=2, fit_hook=fit_hook))
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert calls == [1]
    state = resumed.model.state_dict()
    for key in ('weight', 'bias'):
        assert torch.equal(state[f'alignments.by_boundary.0.{key}'],
                           fitted[f'alignments.by_boundary.0.{key}'])


@pytest.mark.parametrize('student_width,expected', [
    (8, 'ChannelSelection'),  # the wider teacher's stages end in convs
    (32, 'PCAProjection'),  # a wider student: no subset of channels fits
])
def test_auto_alignment_selects_teacher_channels_where_it_can(
        cls_config, student_width, expected):
    model = build_model(cls_config(extra=f'''
        model = dict(
            alignment='auto',
            student=dict(backbone=dict(base_channels={student_width},
                                       stem_channels={student_width}),
                         head=dict(in_channels={8 * student_width})))'''))
    kinds = {type(m).__name__ for m in model.alignments.by_boundary.values()}
    assert len(model.alignments.by_boundary) == 3 and kinds == {expected}
    # and the decomposed student trains through it
    model.set_groups([[0], [1], [2], [3]])
    losses = model.loss(*_batch())
    assert all(torch.isfinite(losses[f'loss_feat_b{j}']) for j in range(3))


def test_auto_alignment_projects_transformer_tokens():
    from conftest import ROOT
    from mmengine.config import Config
    cfg = Config.fromfile(f'{ROOT}/configs/demo/'
                          'stablekd_vit-tiny-resnet18-w8_digits.py')
    assert 'alignment' not in cfg.model  # the default, 'auto'
    cfg.model.teacher_ckpt = None
    model = build_model(cfg, fit_alignments=False)
    assert {type(m).__name__ for m in model.alignments.by_boundary.values()
            } == {'PCAProjection'}
    assert model.alignments.unfitted() == [0, 1, 2]
