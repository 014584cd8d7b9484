"""``alignment='auto'``: the measured best alignment for each boundary."""
from torch import nn

AUTO = 'auto'


def auto_alignment(teacher_boundary: nn.Module, in_channels: int,
                   out_channels: int) -> dict:
    """The alignment config for one boundary whose widths differ.

    :class:`ChannelSelection` (the teacher's channels written by its
    largest-L1 filters; no fit, no parameters) where it applies: the
    teacher is the wider one and its boundary module writes its
    ``in_channels`` channels with a convolution (CNN stages). It beat
    :class:`PCAProjection` in every CNN cell of ``benchmarks/kd_grid.py``
    (``docs/diagnosis.md``). Elsewhere (transformer teachers, a wider
    student) :class:`PCAProjection`, fitted on training batches before
    training (``RecompositionHook`` does it).

    Args:
        teacher_boundary: the teacher module whose output is aligned.
        in_channels: the teacher's width there.
        out_channels: the student's width there.
    """
    if in_channels > out_channels and any(
            isinstance(m, nn.Conv2d) and m.out_channels == in_channels
            for m in teacher_boundary.modules()):
        return dict(type='ChannelSelection')
    return dict(type='PCAProjection')
