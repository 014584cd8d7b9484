"""A ceiling on the gradient norm an MMEngine optim wrapper steps with."""
from typing import List, Optional

from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmstablekd.utils.config_checks import check_number, fail

CAP_EXAMPLE = 'dict(max_norm=10.0)'


def check_grad_norm_cap(key: str, cap: Optional[dict]) -> Optional[dict]:
    """``cap``: None or ``dict(max_norm=..., [norm_type=...])``, the
    arguments of ``torch.nn.utils.clip_grad_norm_``."""
    if cap is None:
        return cap
    if not isinstance(cap, dict) or 'max_norm' not in cap or not set(
            cap) <= {'max_norm', 'norm_type'}:
        fail(key, f'None or dict(max_norm=..., norm_type=...), e.g. '
             f'{CAP_EXAMPLE}', cap)
    check_number(f"{key}['max_norm']", cap['max_norm'], positive=True)
    check_number(f"{key}['norm_type']", cap.get('norm_type', 2.0),
                 positive=True)
    return cap


def cap_grad_norm(optim_wrapper, cap: dict, owner: str) -> List[str]:
    """Make every :class:`OptimWrapper` in ``optim_wrapper`` (one, or an
    ``OptimWrapperDict``) clip the gradients' norm at ``cap['max_norm']``
    at most: a wrapper that already clips the same norm at or below it is
    left as it is; one without a clip, or with a looser one, clips as
    ``OptimWrapper(clip_grad=cap)`` would.

    Returns:
        list[str]: one line per wrapper changed, for the log.

    Raises:
        ValueError: a wrapper clips by value (``type='value'``), which a
            norm clip would replace; names ``owner``.
    """
    wrappers = optim_wrapper.values() if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    norm_type = cap.get('norm_type', 2.0)
    changed = []
    for wrapper in wrappers:
        own = wrapper.clip_grad_kwargs
        if own is not None and wrapper.grad_name == 'grad_value':
            raise ValueError(
                f'{owner} caps the gradient norm at {cap}, but the optim '
                f'wrapper clips by value ({own}): clip by norm in '
                f'optim_wrapper, or set clip_grad=None in {owner} to keep '
                f'the value clip alone.')
        if own is not None and own.get('norm_type', 2.0) == norm_type and \
                own['max_norm'] <= cap['max_norm']:
            continue
        # OptimWrapper parses its clip_grad; borrow its result
        parsed = OptimWrapper(wrapper.optimizer, clip_grad=dict(cap))
        wrapper.clip_func = parsed.clip_func
        wrapper.grad_name = parsed.grad_name
        wrapper.clip_grad_kwargs = parsed.clip_grad_kwargs
        changed.append(f'gradient norm clipped at {cap["max_norm"]} '
                       f'(the optim wrapper\'s own clip: {own})')
    return changed
