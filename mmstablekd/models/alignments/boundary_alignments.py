"""Per boundary, what turns the teacher's feature into the student's."""
from typing import Dict, Iterable, List, Optional

import torch
from torch import nn

from ..blocks.probe import BlockPlan
from ..builder import build_component


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
    training (:class:`~mmstablekd.engine.hooks.AlignmentFitHook`) and then
    stay fixed; those with ``init_from_teacher(module)`` (e.g.
    :class:`ChannelSelection`) derive themselves from the teacher's boundary
    module at build time; any other module (e.g. a learned
    :class:`ConvBNAdapter`) trains with the block it feeds.

    Args:
        student_plan, teacher_plan (BlockPlan): the probed networks.
        alignment (dict, optional): the config built at each boundary whose
            widths differ, with ``in_channels`` (teacher) and
            ``out_channels`` (student). None builds nothing: a grouping that
            would feed or supervise a boundary whose widths differ is then
            an error (:meth:`check_usable`), so a model that only ever
            trains end to end (the KD baseline) holds no unused module.
        teacher_boundaries (list[nn.Module]): the teacher's boundary modules.
    """

    def __init__(self, student_plan: BlockPlan, teacher_plan: BlockPlan,
                 alignment: Optional[dict],
                 teacher_boundaries: List[nn.Module]) -> None:
        super().__init__()
        self.by_boundary = nn.ModuleDict()
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
            module = build_component(
                alignment, in_channels=c_t, out_channels=c_s)
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
                f'grouping feeds or supervises it. Set '
                f"model.alignment=dict(type='PCAProjection') (as the "
                f'StableKD configs do) or choose boundaries of equal width.')

    def forward(self, j: int, teacher_feat: torch.Tensor) -> torch.Tensor:
        """The teacher's feature at boundary ``j`` in the student's width."""
        key = str(j)
        return self.by_boundary[key](teacher_feat) \
            if key in self.by_boundary else teacher_feat

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
                f"happened: add dict(type='mmstablekd.AlignmentFitHook') to "
                f'custom_hooks (the recomposition schedules in '
                f'configs/_base_/recomposition/ include it), or call '
                f'model.fit_alignments(batches).')


def feature_rows(feat: torch.Tensor) -> torch.Tensor:
    """A feature as rows of channel vectors: ``(N, C, H, W) -> (N*H*W, C)``,
    ``(N, C) -> (N, C)``."""
    if feat.dim() == 4:
        return feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])
    return feat.reshape(-1, feat.shape[-1])


def subsample_rows(rows: torch.Tensor, count: int,
                   generator: torch.Generator) -> torch.Tensor:
    """At most ``count`` rows of ``rows``, drawn without replacement."""
    if len(rows) <= count:
        return rows
    return rows[torch.randperm(len(rows), generator=generator)[:count]]
