"""A recomposition schedule's stages, as the hook and the LR cycles read it.

A config declares the stages once, at its top level, keyed by name, so that
a derived config moves a stage by its name::

    recomposition = dict(
        decomposed=dict(begin=0, groups=[[0], [1], [2], [3], [4]]),
        half=dict(begin=1 / 3, groups=[[0, 1], [2, 3], [4]]),
        merged=dict(begin=2 / 3, groups=[[0, 1, 2, 3], [4]]))
    # in a derived config
    recomposition = dict(half=dict(begin=0.4))

``runner_type = 'mmstablekd.PortableRunner'`` hands ``recomposition`` to
every ``RecompositionHook`` and ``StageCyclicLR`` of the config that does
not set ``stages`` itself (:func:`hand_over_stages`). A list of stages in
the order they run is accepted too.
"""
from typing import List, Sequence, Union

from mmstablekd.utils.config_checks import is_int, is_number

# the config components that read the declaration
STAGE_READERS = ('RecompositionHook', 'StageCyclicLR')


def stage_list(stages: Union[dict, Sequence[dict], None],
               owner: str) -> List[dict]:
    """``stages`` as a list in the order they run; those of a dict carry
    their key as ``name``, and one set to None is dropped (a derived
    config's way to remove a stage).

    Raises:
        ValueError: ``stages`` is neither a dict nor a list of dicts with a
            ``begin``, naming ``owner``.
    """
    if isinstance(stages, dict):
        items = [(name, s) for name, s in stages.items() if s is not None]
    elif isinstance(stages, (list, tuple)):
        items = list(enumerate(stages))
    else:
        items = []
    if not items or not all(
            isinstance(s, dict) and 'begin' in s for _, s in items):
        raise ValueError(
            f'{owner} stages must be the recomposition schedule: '
            f'dict(name=dict(begin=..., ...), ...) (usually the top-level '
            f'`recomposition` of the config, which '
            f"runner_type='mmstablekd.PortableRunner' hands over) or a "
            f'non-empty list of dict(begin=..., ...), got {stages!r}.')
    if not isinstance(stages, dict):
        return [dict(s) for _, s in items]
    named = [dict(s, name=name) for name, s in items]
    if all(is_number(s['begin']) for s in named):
        # in the order they run, wherever a derived config moved them
        named.sort(key=lambda s: s['begin'])
    return named


def check_begins(begins: Sequence, owner: str) -> None:
    """``begins`` start at 0 and strictly increase, as epochs/iterations or
    as shares of training in ``(0, 1)``."""
    whole = all(is_int(b) and b >= 0 for b in begins)
    shares = all(isinstance(b, float) and 0 < b < 1 for b in begins[1:])
    if begins[0] != 0 or not (whole or shares) or any(
            a >= b for a, b in zip(begins, begins[1:])):
        raise ValueError(
            f'{owner} stage begins {list(begins)} must start at 0 and '
            f'strictly increase (stages may not overlap or be listed out '
            f'of order), as integers or as shares of training in (0, 1).')


def stage_starts(begins: Sequence, length: int) -> List[int]:
    """The epoch/iteration each stage starts at, for training of
    ``length`` epochs/iterations: a share ``b`` becomes ``round(b *
    length)``."""
    return [round(b * length) if isinstance(b, float) else b for b in begins]


def hand_over_stages(cfg) -> None:
    """Give the config's top-level ``recomposition`` to its stage readers
    (:data:`STAGE_READERS`) that do not set ``stages``."""
    if cfg.get('recomposition') is None:
        return
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for component in list(cfg.get('custom_hooks') or []) + list(schedulers):
        if str(component.get('type', '')).split('.')[-1] in STAGE_READERS:
            component.setdefault('stages', cfg.recomposition)
