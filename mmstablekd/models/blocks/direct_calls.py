"""Hooks that also run when a module is run by ``module.forward(x)``.

PyTorch's forward hooks run only when a module is called (``module(x)``).
MMDetection runs its heads by ``head.forward(x)`` in ``'tensor'`` mode, and
MMSegmentation always does (inside ``head.loss`` and ``head.predict``). The
hooks here wrap the instance's ``forward`` instead, so they run however it
is called.
"""
import types
from typing import Callable, Optional

from torch import nn

_HOOKS = '_mmstablekd_forward_hooks'


def register_direct_call_hooks(module: nn.Module,
                               pre: Optional[Callable] = None,
                               post: Optional[Callable] = None) -> None:
    """Run ``pre(module, args, kwargs)`` (returning None or new
    ``(args, kwargs)``) before and ``post(module, args, output)`` after
    every run of ``module.forward``.

    The wrapper is bound as a method, so that a deep copy of the module runs
    its own weights. A module whose ``forward`` something else replaced
    already gets PyTorch's hooks (then only calls are seen).
    """
    hooks = vars(module).get(_HOOKS)
    if hooks is None:
        if 'forward' in vars(module):
            if pre is not None:
                module.register_forward_pre_hook(pre, with_kwargs=True)
            if post is not None:
                module.register_forward_hook(post)
            return
        hooks = vars(module)[_HOOKS] = dict(pre=[], post=[])
        module.forward = types.MethodType(_hooked(type(module).forward),
                                          module)
    if pre is not None:
        hooks['pre'].append(pre)
    if post is not None:
        hooks['post'].append(post)


def _hooked(forward: Callable) -> Callable:

    def hooked(self, *args, **kwargs):
        hooks = vars(self)[_HOOKS]
        for pre in hooks['pre']:
            changed = pre(self, args, kwargs)
            if changed is not None:
                args, kwargs = changed
        output = forward(self, *args, **kwargs)
        for post in hooks['post']:
            post(self, args, output)
        return output

    return hooked
