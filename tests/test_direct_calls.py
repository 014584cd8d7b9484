"""Hooks that run however a module is run: ``module(x)`` or
``module.forward(x)`` (MMSegmentation's heads inside ``head.loss``)."""
import copy

import torch
from torch import nn

from mmstablekd.models.blocks.direct_calls import register_direct_call_hooks


def test_pre_and_post_hooks_run_on_calls_and_direct_forwards():
    layer = nn.Linear(2, 2)
    seen = []
    register_direct_call_hooks(
        layer, pre=lambda m, args, kwargs: ((args[0] * 0, ), kwargs),
        post=lambda m, args, out: seen.append(out))
    x = torch.ones(1, 2)
    for run in (layer, layer.forward):
        out = run(x)
        torch.testing.assert_close(out, layer.bias.expand(1, 2))  # fed 0
        assert seen[-1] is out
    assert len(seen) == 2


def test_hooks_of_several_callers_chain_in_order():
    layer = nn.Identity()
    order = []
    register_direct_call_hooks(layer, post=lambda *a: order.append('first'))
    register_direct_call_hooks(layer, post=lambda *a: order.append('second'))
    layer.forward(torch.zeros(1))
    assert order == ['first', 'second']


def test_a_deep_copy_runs_its_own_weights():
    layer = nn.Linear(2, 2)
    register_direct_call_hooks(layer, post=lambda *a: None)
    twin = copy.deepcopy(layer)
    with torch.no_grad():
        twin.bias.fill_(5.0)
    x = torch.zeros(1, 2)
    torch.testing.assert_close(twin.forward(x), torch.full((1, 2), 5.0))
    torch.testing.assert_close(layer.forward(x), layer.bias.expand(1, 2))
