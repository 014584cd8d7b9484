"""GroupwiseClipOptimWrapper: each group of StableKD's blocks clipped on its
own, through a real Runner and on one step's gradients."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from conftest import block_of, build_model
from mmstablekd.engine.optimizers import GroupwiseClipOptimWrapper

DEC = ((0, ), (1, ), (2, ), (3, ))
SCHEDULE = '''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=1, groups=[[0, 1], [2, 3]]),
                             dict(begin=2, groups=[[0, 1, 2, 3]])])]
optim_wrapper = dict(type='mmstablekd.GroupwiseClipOptimWrapper',
                     clip_grad=dict(max_norm=1.0))
'''


def _norm(params) -> float:
    return float(torch.linalg.vector_norm(
        torch.stack([p.grad.norm() for p in params])))


class ClipLog(Hook):
    """Records every clip the optimizer wrapper makes: the model's groups
    then and the names of the parameters clipped together."""

    def before_train(self, runner):
        self.calls = []
        wrapper, model = runner.optim_wrapper, runner.model
        assert isinstance(wrapper, GroupwiseClipOptimWrapper)
        names = {id(p): n for n, p in model.named_parameters()}
        clip = wrapper.clip_func

        def record(params, **kwargs):
            self.calls.append((model.groups, [names[id(p)] for p in params]))
            return clip(params, **kwargs)

        wrapper.clip_func = record


def test_runner_clips_each_group_of_the_stage_on_its_own(cls_config):
    runner = Runner.from_cfg(cls_config(extra=SCHEDULE))
    log = ClipLog()
    runner.register_hook(log)
    runner.train()
    steps = {}
    for groups, params in log.calls:
        steps.setdefault(groups, []).append(params)
    # every stage ran; per step one clip per group, over that group's
    # student blocks only (no parameter outside the student: PCA's are
    # buffers), every trained parameter clipped once
    assert set(steps) == {DEC, ((0, 1), (2, 3)), ((0, 1, 2, 3), )}
    for groups, calls in steps.items():
        assert len(calls) == 6 * len(groups)  # 6 iterations a stage
        for group, params in zip(groups * 6, calls):
            assert {block_of(n[len('student.'):]) for n in params} == set(
                group)
    trained = {n for n, p in runner.model.named_parameters()
               if p.requires_grad}
    assert {n for c in steps[DEC][:4] for n in c} == trained
    assert runner.message_hub.get_scalar('train/grad_norm') is not None
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def _decomposed_gradients(cfg):
    """A decomposed StableKD, its loss on a batch and an SGD of lr 0 (the
    step leaves the weights, and the clipped gradients, as they are)."""
    model = build_model(cfg, init_weights=True)
    model.set_groups(DEC)
    torch.manual_seed(0)
    inputs = torch.randn(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i % 4) for i in range(4)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    return model, inputs, samples, optimizer


@pytest.mark.parametrize('wrapper_class',
                         [GroupwiseClipOptimWrapper, OptimWrapper])
def test_each_group_is_clipped_to_the_norm_alone(cls_config, wrapper_class):
    model, inputs, samples, optimizer = _decomposed_gradients(cls_config())
    probe = wrapper_class(optimizer=optimizer, clip_grad=dict(max_norm=1e9))
    with probe.optim_context(model):
        loss = sum(v for k, v in model.loss(inputs, samples).items()
                   if 'loss' in k)
    loss.backward()
    groups = model.group_parameters()
    before = [_norm(params) for params in groups]
    assert len(groups) == 4 and min(before) < max(before) / 2
    # a norm between the smallest and the largest group's
    max_norm = (min(before) * max(before)) ** 0.5
    wrapper = wrapper_class(optimizer=optimizer,
                            clip_grad=dict(max_norm=max_norm))
    with wrapper.optim_context(model):
        pass
    wrapper.step()
    after = [_norm(params) for params in groups]
    if wrapper_class is GroupwiseClipOptimWrapper:
        for b, a in zip(before, after):
            assert a == pytest.approx(min(b, max_norm), rel=1e-4)
        assert wrapper.message_hub.get_scalar(
            'train/grad_norm').current() == pytest.approx(max(before))
    else:  # one norm for all: every group shrinks by the same factor
        total = sum(b * b for b in before) ** 0.5
        for b, a in zip(before, after):
            assert a == pytest.approx(b * max_norm / total, rel=1e-3)


def test_bad_uses_are_refused_with_the_fix(cls_config):
    model, _, _, optimizer = _decomposed_gradients(cls_config())
    with pytest.raises(ValueError, match='clip_grad'):
        GroupwiseClipOptimWrapper(optimizer=optimizer)
    wrapper = GroupwiseClipOptimWrapper(optimizer=optimizer,
                                        clip_grad=dict(max_norm=1.0))
    with pytest.raises(TypeError, match="type='OptimWrapper'"):
        with wrapper.optim_context(model.student):
            pass
