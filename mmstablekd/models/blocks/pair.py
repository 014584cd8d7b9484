"""Probe a student and a teacher at corresponding boundaries."""
from typing import Tuple, Union

from torch import nn

from .auto_boundaries import auto_boundaries
from .detection import check_detector_pair
from .probe import BlockPlan, probe_blocks


def probe_pair(student: nn.Module, teacher: nn.Module,
               boundaries: Union[str, dict],
               input_shape: Tuple[int, ...]) -> Tuple[BlockPlan, BlockPlan]:
    """The block plans of the two networks.

    Args:
        boundaries: ``dict(student=[...], teacher=[...])`` module paths, the
            same number each, in forward order; or ``'auto'`` (also
            ``dict(student='auto', teacher='auto')``) to pair the networks'
            stages (:func:`auto_boundaries`).
        input_shape: ``(C, H, W)`` of the dummy image.

    Raises:
        ValueError: malformed ``boundaries``, or boundaries that do not cut
            the networks into corresponding blocks.
    """
    auto = boundaries == 'auto' or boundaries == dict(
        student='auto', teacher='auto')
    if auto:
        boundaries = auto_boundaries(student, teacher, input_shape)
        try:
            # auto_boundaries already ended the plan before any boundary
            # whose output changes in training
            return _probe(student, teacher, boundaries, input_shape,
                          check_training=False)
        except ValueError as err:  # a bug of auto's: say it is not the user's
            raise ValueError(
                f"boundaries='auto' chose {boundaries}, which the checks "
                f'refuse: {err} Give the boundaries explicitly, and report '
                f'this pair (docs/auto_boundaries.md).') from err
    if not isinstance(boundaries, dict) or set(boundaries) != {
            'student', 'teacher'
    } or 'auto' in boundaries.values():
        raise ValueError(
            f"boundaries must be dict(student=[...], teacher=[...]) or "
            f"'auto', got {boundaries!r}.")
    return _probe(student, teacher, boundaries, input_shape)


def _probe(student, teacher, boundaries: dict, input_shape,
           check_training: bool = True):
    s_paths, t_paths = list(boundaries['student']), list(
        boundaries['teacher'])
    if len(s_paths) != len(t_paths) or not s_paths:
        raise ValueError(
            f'Student and teacher need the same, non-zero number of '
            f'boundaries (N - 1 for N blocks); got {len(s_paths)} for the '
            f'student {s_paths} and {len(t_paths)} for the teacher '
            f'{t_paths}. Cut both at corresponding stages.')
    check_detector_pair(student, teacher, boundaries, input_shape)
    return (probe_blocks(student, s_paths, input_shape, 'student',
                         check_training=check_training),
            probe_blocks(teacher, t_paths, input_shape, 'teacher',
                         fed=False))
