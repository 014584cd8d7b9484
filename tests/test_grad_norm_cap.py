"""The gradient-norm cap RecompositionHook puts on the optim wrapper:
on one step's update, and through a real Runner."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner

from mmstablekd.engine.optimizers import cap_grad_norm


def _step_norm(wrapper: OptimWrapper, net: torch.nn.Linear) -> float:
    """The norm of one SGD step (lr 1, no momentum) on a loss whose
    gradient norm is far above every clip below: the clip's max_norm."""
    before = [p.detach().clone() for p in net.parameters()]
    wrapper.update_params(1000.0 * net(torch.ones(1, 4)).sum())
    return torch.cat([(p.detach() - b).flatten()
                      for p, b in zip(net.parameters(), before)]).norm()


def _wrapper(clip_grad=None):
    net = torch.nn.Linear(4, 3)
    return OptimWrapper(torch.optim.SGD(net.parameters(), lr=1.0),
                        clip_grad=clip_grad), net


@pytest.mark.parametrize('own, expected', [
    (None, 10.0),  # no clip: the cap clips
    (dict(max_norm=35.0), 10.0),  # a looser clip: replaced
    (dict(max_norm=5.0), 5.0),  # a tighter one: kept
    (dict(max_norm=5.0, norm_type=1.0), 10.0),  # another norm: replaced
])
def test_the_cap_bounds_every_step_and_keeps_a_tighter_clip(own, expected):
    wrapper, net = _wrapper(own)
    changed = cap_grad_norm(wrapper, dict(max_norm=10.0), 'Test')
    assert _step_norm(wrapper, net) == pytest.approx(expected, rel=1e-4)
    assert len(changed) == (expected == 10.0)
    if changed:
        assert changed[0] == (f'gradient norm clipped at 10.0 (the optim '
                              f"wrapper's own clip: {own})")


def test_the_cap_reaches_every_wrapper_of_an_optim_wrapper_dict():
    (a, net_a), (b, net_b) = _wrapper(), _wrapper(dict(max_norm=2.0))
    cap_grad_norm(OptimWrapperDict(a=a, b=b), dict(max_norm=10.0), 'Test')
    assert _step_norm(a, net_a) == pytest.approx(10.0, rel=1e-4)
    assert _step_norm(b, net_b) == pytest.approx(2.0, rel=1e-4)


def test_a_value_clip_is_refused_with_the_fix():
    wrapper, _ = _wrapper(dict(type='value', clip_value=1.0))
    with pytest.raises(ValueError, match='clips by value .* set clip_grad='
                       'None in RecompositionHook'):
        cap_grad_norm(wrapper, dict(max_norm=10.0), 'RecompositionHook')


HOOK = '''
custom_hooks = [dict(type='mmstablekd.RecompositionHook', {arguments}
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=1, groups=[[0, 1, 2, 3]])])]
train_cfg = dict(max_epochs=2)
'''


@pytest.mark.parametrize('arguments, clip', [
    ('', dict(max_norm=10.0)),  # the default cap
    ('clip_grad=dict(max_norm=3.0),', dict(max_norm=3.0)),
    ('clip_grad=None,', None),  # the optim wrapper as configured
])
def test_a_runner_trains_with_the_hooks_cap(cls_config, arguments, clip):
    runner = Runner.from_cfg(cls_config(extra=HOOK.format(
        arguments=arguments)))
    runner.train()
    assert runner.optim_wrapper.clip_grad_kwargs == clip
    # MMEngine logs the norm it clipped (before clipping) only when it clips
    logs = open(glob.glob(osp.join(runner.work_dir, '*', '*.log'))[0]).read()
    assert ('grad_norm' in logs) == (clip is not None)
    assert ('RecompositionHook: gradient norm clipped at' in logs) == (
        clip is not None)
