"""Per boundary, what turns the teacher's feature into the student's."""
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch
from torch import nn

from ..blocks.layouts import resize_map
from ..blocks.probe import BlockPlan
from ..builder import build_component
from .auto_alignment import AUTO, auto_alignment
from .conv_resize import ConvResize

RESIZE_MODES = ('nearest', 'bilinear', 'conv')


class BoundaryAlignments(nn.Module):
    """The alignment of every boundary where teacher and student differ.

    At boundary ``j`` the alignment maps the teacher's feature to the
    student's width. Its output is used twice in a decomposed grouping: it
    is what student block ``j + 1`` is fed, and (detached) what block ``j``
    learns to output. One tensor for both keeps the composed student
    consistent: what a block learns to produce is exactly what the next one
    was trained on. Where the widths agree there is no alignment (the
    teacher's feature is used as it is).

    Alignments with a ``fit(teacher, student)`` method (e.g.
    :class:`PCAProjection`) are fitted once on training batches before
    training (by :class:`~mmstablekd.engine.hooks.RecompositionHook`, or
    :class:`~mmstablekd.engine.hooks.AlignmentFitHook` to choose the
    batches) and then stay fixed; those with ``init_from_teacher(module)``
    (e.g. :class:`ChannelSelection`) derive themselves from the teacher's
    boundary module at build time; any other module (e.g. a learned
    :class:`ConvBNAdapter`) trains with the block it feeds.

    Args:
        student_plan, teacher_plan (BlockPlan): the probed networks.
        alignment (dict | str, optional): the config built at each boundary
            whose widths differ, with ``in_channels`` (teacher) and
            ``out_channels`` (student); ``'auto'`` chooses per boundary
            (:func:`auto_alignment`). None builds nothing: a grouping that
            would feed or supervise a boundary whose widths differ is then
            an error (:meth:`check_usable`), so a model that only ever
            trains end to end (the KD baseline) holds no unused module.
        teacher_boundaries (list[nn.Module]): the teacher's boundary modules.
        resize (str, optional): how a teacher map is resized to the student's
            grid after the width alignment: ``'nearest'`` (chosen by
            ``benchmarks/transformer_pairs.py``), ``'bilinear'``
            (antialiased when shrinking), or ``'conv'``, a learned
            :class:`ConvResize` (by integer factors; other factors are
            resized ``'nearest'``). None makes a size mismatch an error.
    """

    def __init__(self,
                 student_plan: BlockPlan,
                 teacher_plan: BlockPlan,
                 alignment: Union[dict, str, None],
                 teacher_boundaries: List[nn.Module],
                 resize: Optional[str] = 'nearest') -> None:
        super().__init__()
        self.by_boundary = nn.ModuleDict()
        self.resizers = nn.ModuleDict()
        self.layouts = list(zip(teacher_plan.layouts, student_plan.layouts))
        self.resize = resize
        for j, (t, s) in enumerate(self.layouts):
            if resize == 'conv' and ConvResize.can_resize(t.stride /
                                                          s.stride):
                self.resizers[str(j)] = ConvResize(s.channels,
                                                   t.stride / s.stride)
            if resize is None and t.stride != s.stride:
                raise ValueError(
                    f'Spatial sizes differ at boundary {j} (student '
                    f'{student_plan.boundaries[j]!r}: '
                    f'{student_plan.describe(j)}, teacher '
                    f'{teacher_plan.boundaries[j]!r}: '
                    f'{teacher_plan.describe(j)}) and resize is None. Set '
                    f"resize='nearest', or cut both networks where their "
                    f'strides agree.')
        # boundary -> why it cannot be used: widths differ, no alignment
        self.unaligned: Dict[int, str] = {}
        widths = zip(student_plan.channels, teacher_plan.channels)
        for j, (c_s, c_t) in enumerate(widths):
            if c_s == c_t:
                continue
            if alignment is None:
                self.unaligned[j] = (
                    f'student {student_plan.boundaries[j]!r}: {c_s}, '
                    f'teacher {teacher_plan.boundaries[j]!r}: {c_t}')
                continue
            cfg = auto_alignment(teacher_boundaries[j], c_t, c_s) \
                if alignment == AUTO else alignment
            module = build_component(cfg, in_channels=c_t, out_channels=c_s)
            if hasattr(module, 'init_from_teacher'):
                module.init_from_teacher(teacher_boundaries[j])
            self.by_boundary[str(j)] = module

    def check_usable(self, boundaries: Iterable[int]) -> None:
        """Raise if a boundary of ``boundaries`` (to be fed or supervised)
        has differing widths and no alignment."""
        for j in sorted(set(boundaries) & set(self.unaligned)):
            raise ValueError(
                f'Channel counts differ at boundary {j} '
                f'({self.unaligned[j]}) and alignment is None, but the '
                f"grouping feeds or supervises it. Set model.alignment='auto' "
                f'(the default) or an alignment config, or choose boundaries '
                f'of equal width.')

    def forward(self,
                j: int,
                teacher_feat: torch.Tensor,
                student_feat: Optional[torch.Tensor] = None,
                input_hw: Optional[Sequence[int]] = None) -> torch.Tensor:
        """The teacher's feature at boundary ``j`` in the student's layout
        and shape.

        Args:
            j: the boundary.
            teacher_feat: the teacher's feature there.
            student_feat: the student's own, for its size and extra tokens;
                needed where the two layouts' positions differ.
            input_hw: ``(H, W)`` of the input batch; needed likewise.
        """
        teacher, student = self.layouts[j]
        if teacher.same_positions(student):
            return self._align(j, teacher_feat, teacher.kind == 'tokens')
        feat_map = self._align(j, teacher.to_map(teacher_feat, input_hw))
        size = student.grid(input_hw) if student.kind == 'tokens' \
            else student_feat.shape[-2:]
        if str(j) in self.resizers:  # then exactly to size (odd sizes)
            feat_map = resize_map(self.resizers[str(j)](feat_map), size,
                                  'bilinear')
        else:  # a learned resize only by integer factors
            feat_map = resize_map(feat_map, size, 'nearest'
                                  if self.resize == 'conv' else self.resize)
        extra = None
        if student.extra_tokens == teacher.extra_tokens:
            extra = self._align(j, teacher.extra(teacher_feat), tokens=True)
        elif student.extra_tokens:
            extra = student.extra(student_feat).detach()
        return student.from_map(feat_map, extra)

    def _align(self, j: int, feat: Optional[torch.Tensor],
               tokens: bool = False) -> Optional[torch.Tensor]:
        """Boundary ``j``'s per-position alignment applied to a map ``feat``,
        or to ``tokens`` ``(N, L, C)`` passed as a ``(N, C, 1, L)`` map."""
        key = str(j)
        if feat is None or key not in self.by_boundary:
            return feat
        if not tokens:
            return self.by_boundary[key](feat)
        as_map = feat.transpose(1, 2).unsqueeze(2)
        return self.by_boundary[key](as_map).squeeze(2).transpose(1, 2)

    def __contains__(self, j: int) -> bool:
        return str(j) in self.by_boundary

    def unfitted(self, boundaries=None) -> List[int]:
        """Boundaries (of ``boundaries``, default all) whose alignment needs
        a :meth:`fit` that has not happened yet."""
        return [
            int(j) for j, m in self.by_boundary.items()
            if hasattr(m, 'fit') and not bool(m.fitted)
            and (boundaries is None or int(j) in boundaries)
        ]

    def fit(self, teacher: Dict[int, torch.Tensor],
            student: Dict[int, torch.Tensor]) -> Dict[int, dict]:
        """Fit the alignments of the boundaries in ``teacher`` on feature
        samples ``(M, C)`` of both networks; returns what each fit reports
        (e.g. ``kept_variance``) by boundary."""
        return {
            j: self.by_boundary[str(j)].fit(teacher[j], student[j])
            for j in sorted(teacher)
        }

    def check_fitted(self, boundaries) -> None:
        """Raise before a forward pass that would use an unfitted
        alignment."""
        missing = self.unfitted(boundaries)
        if missing:
            kinds = sorted({type(self.by_boundary[str(j)]).__name__
                            for j in missing})
            raise RuntimeError(
                f'The alignments {kinds} at boundaries {missing} are fitted '
                f'on training batches before training, which has not '
                f'happened. mmstablekd.RecompositionHook fits them before '
                f'training; without it, add '
                f"dict(type='mmstablekd.AlignmentFitHook') to custom_hooks, "
                f'or call model.fit_alignments(batches) first.')


def feature_rows(feat: torch.Tensor) -> torch.Tensor:
    """A feature as rows of channel vectors: ``(N, C, H, W) -> (N*H*W, C)``,
    tokens ``(N, L, C) -> (N*L, C)``, ``(N, C) -> (N, C)``."""
    if feat.dim() == 4:
        return feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])
    return feat.reshape(-1, feat.shape[-1])


def subsample_rows(rows: torch.Tensor, count: int,
                   generator: torch.Generator) -> torch.Tensor:
    """At most ``count`` rows of ``rows``, drawn without replacement."""
    if len(rows) <= count:
        return rows
    return rows[torch.randperm(len(rows), generator=generator)[:count]]
