"""Classifier pairs from MMPretrain's zoo, across architectures and layouts.

Each pair is built from the upstream configs (``mmpretrain::``) with
``boundaries='auto'``, random teachers and 64x64 inputs; Swin gets
``pad_small_map=True`` so that its last stages (2x2 at this size) may be
smaller than its 7x7 windows.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmpretrain.structures import DataSample

from conftest import build_model
from mmstablekd.models.blocks import parameter_blocks

SIZE = 64
SMALL_SWIN = dict(backbone=dict(pad_small_map=True))
R18 = 'resnet/resnet18_8xb32_in1k.py'
R50 = 'resnet/resnet50_8xb32_in1k.py'
DEIT_S = 'deit/deit-small_4xb256_in1k.py'
DEIT_T = 'deit/deit-tiny_4xb256_in1k.py'
SWIN_T = 'swin_transformer/swin-tiny_16xb64_in1k.py'
RESNET_STAGES = [f'backbone.layer{i}' for i in (1, 2, 3)]
VIT_THIRDS = [f'backbone.layers.{i}' for i in (2, 5, 8)]
SWIN_STAGES = [f'backbone.stages.{i}' for i in (0, 1, 2)]

# teacher, student, the boundaries 'auto' must give (teacher, student)
PAIRS = {
    'resnet50-mobilenetv2': (R50, 'mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
                             RESNET_STAGES,
                             [f'backbone.layer{i}' for i in (2, 3, 5)]),
    'convnext-t-resnet18': ('convnext/convnext-tiny_32xb128_in1k.py', R18,
                            [f'backbone.stages.{i}' for i in (0, 1, 2)],
                            RESNET_STAGES),
    'deit-s-deit-t': (DEIT_S, DEIT_T, VIT_THIRDS, VIT_THIRDS),
    'swin-t-resnet18': (SWIN_T, R18, SWIN_STAGES, RESNET_STAGES),
    'deit-s-resnet18': (DEIT_S, R18, VIT_THIRDS, RESNET_STAGES),
    'resnet50-deit-t': (R50, DEIT_T, RESNET_STAGES, VIT_THIRDS),
    'resnet50-swin-t': (R50, SWIN_T, RESNET_STAGES, SWIN_STAGES),
}


def _network(path):
    overrides = SMALL_SWIN if 'swin' in path else {}
    return dict(cfg_path=f'mmpretrain::{path}', **overrides)


def build_pair(teacher, student, **kwargs):
    """StableKD as a config inheriting the student's would build it (with
    the student config's data_preprocessor: normalisation, batch
    augmentations)."""
    upstream = get_config(f'mmpretrain::{student}')
    cfg = Config(dict(
        default_scope='mmpretrain',
        data_preprocessor=upstream.data_preprocessor,
        model=dict(
            type='mmstablekd.StableKD',
            student=_network(student),
            teacher=_network(teacher),
            boundaries='auto',
            probe_input_shape=(3, SIZE, SIZE),
            **{'alignment': dict(type='PCAProjection'), **kwargs})))
    return build_model(cfg).train()


def _batch(model, n=2):
    torch.manual_seed(0)
    data = dict(
        inputs=list(torch.randint(0, 256, (n, 3, SIZE, SIZE),
                                  dtype=torch.uint8)),
        data_samples=[DataSample().set_gt_label(i) for i in range(n)])
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def _grad_blocks(model, loss):
    """Blocks of the student whose parameters get a non-zero gradient."""
    blocks = parameter_blocks(model.student, model.student_plan)
    params = dict(model.student.named_parameters())
    grads = torch.autograd.grad(
        loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {blocks[name] for name, g in zip(params, grads)
            if g is not None and g.abs().sum() > 0}


@pytest.fixture(scope='module', params=list(PAIRS))
def pair(request):
    teacher, student, t_paths, s_paths = PAIRS[request.param]
    return build_pair(teacher, student), t_paths, s_paths


def test_auto_boundaries_cut_each_pair_at_its_stages(pair):
    model, t_paths, s_paths = pair
    assert model.teacher_plan.boundaries == t_paths
    assert model.student_plan.boundaries == s_paths


def test_decomposed_step_keeps_every_block_to_its_own_losses(pair):
    model = pair[0]
    model.set_groups([[0], [1], [2], [3]])
    losses = model.loss(*_batch(model))
    for j in range(3):
        assert _grad_blocks(model, losses[f'loss_feat_b{j}']) == {j}
    assert _grad_blocks(model, losses['loss_ce']) == {3}


def test_end_to_end_step_trains_every_block_and_predicts(pair):
    model = pair[0]
    model.set_groups([[0, 1, 2, 3]])
    inputs, samples = _batch(model)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_ce'}
    assert _grad_blocks(model, losses['loss_ce']) == {0, 1, 2, 3}
    model.eval()
    predictions = model(inputs, samples, mode='predict')
    assert len(predictions) == 2
    assert predictions[0].pred_score.shape == (1000, )


def _fed_tensors(model, groups):
    """What each student consumer module receives in a loss pass, by
    module path."""
    received = {}
    handles = [
        model.student.get_submodule(name).register_forward_pre_hook(
            lambda m, args, name=name: received.setdefault(name, args[0]))
        for name in model.student_plan.consumers
    ]
    model.set_groups(groups)
    try:
        model.loss(*_batch(model))
    finally:
        for handle in handles:
            handle.remove()
    return received


def test_a_vit_student_is_fed_teacher_patches_and_its_own_class_token():
    model = build_pair(R50, DEIT_T)
    own = _fed_tensors(model, [[0, 1, 2, 3]])['backbone.layers.3']
    fed = _fed_tensors(model, [[0], [1], [2], [3]])['backbone.layers.3']
    # patch tokens: the teacher's layer1 map (256 x 16 x 16), projected to
    # 192 channels and resized to the 4x4 patch grid; class token: the
    # student's own, cut from the gradient of the block before
    assert fed.shape == own.shape == (2, 1 + 16, 192)
    assert torch.equal(fed[:, :1], own[:, :1])
    assert not torch.allclose(fed[:, 1:], own[:, 1:])


def _teacher_map(model, layer=2):
    """The DeiT-S teacher's layer-``layer`` patch tokens as a 4x4 map (its
    class token dropped)."""
    out = {}
    model.teacher.backbone.layers[layer].register_forward_hook(
        lambda m, a, tokens: out.setdefault('tokens', tokens))
    model.teacher.extract_feat(_batch(model)[0])
    return out['tokens'][:, 1:].transpose(1, 2).reshape(2, 384, 4, 4)


def test_a_cnn_student_is_fed_the_vit_teachers_patches_as_a_map():
    model = build_pair(DEIT_S, R18)
    fed = _fed_tensors(model, [[0], [1], [2], [3]])['backbone.layer2']
    aligned = model.alignments.by_boundary['0'](_teacher_map(model))
    assert fed.shape == (2, 64, 16, 16)
    # each teacher patch fed to the 4x4 student positions it covers
    torch.testing.assert_close(fed, aligned.repeat_interleave(
        4, dim=2).repeat_interleave(4, dim=3))


def test_a_bilinear_resize_interpolates_the_teachers_map():
    model = build_pair(DEIT_S, R18, resize='bilinear')
    fed = _fed_tensors(model, [[0], [1], [2], [3]])['backbone.layer2']
    aligned = model.alignments.by_boundary['0'](_teacher_map(model))
    torch.testing.assert_close(fed, torch.nn.functional.interpolate(
        aligned, size=(16, 16), mode='bilinear', align_corners=False))


def test_strict_sizes_refuse_a_pair_whose_grids_differ():
    with pytest.raises(ValueError, match=r"Spatial sizes differ at boundary "
                       r"0 \(student 'backbone.layer1': map 64x16x16, "
                       r"teacher 'backbone.layers.2': tokens 1\+16x384 "
                       r"\(4x4\)\) and resize is None"):
        build_pair(DEIT_S, R18, resize=None)


def test_a_learned_resize_starts_as_nearest_and_trains_with_the_next_block():
    model = build_pair(DEIT_S, R18, resize='conv')
    assert sorted(model.alignments.resizers) == ['0', '1']  # 4x, 2x up
    groups = [[0], [1], [2], [3]]
    fed = _fed_tensors(model, groups)['backbone.layer2']
    aligned = model.alignments.by_boundary['0'](_teacher_map(model))
    torch.testing.assert_close(fed, torch.nn.functional.interpolate(
        aligned, size=(16, 16), mode='nearest'))
    model.set_groups(groups)
    losses = model.loss(*_batch(model))
    resizer = model.alignments.resizers['0'].conv.weight
    feeds_block_1, = torch.autograd.grad(losses['loss_feat_b1'], resizer,
                                         retain_graph=True)
    targets_block_0 = torch.autograd.grad(losses['loss_feat_b0'], resizer,
                                          allow_unused=True)[0]
    assert feeds_block_1.abs().sum() > 0 and targets_block_0 is None
