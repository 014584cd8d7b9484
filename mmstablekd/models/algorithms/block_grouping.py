"""What one StableKD training step trains: the grouping and its losses."""
from typing import List, Optional, Sequence, Tuple

from ..alignments import BoundaryAlignments
from ..blocks import TeacherFeeding, check_groups, end_to_end
from ..blocks.groups import Groups


class BlockGrouping:
    """The current grouping of the blocks and the losses computed with it.

    ``RecompositionHook`` sets both at each stage (:meth:`set_groups`,
    :meth:`set_active_losses`, through the model); the
    algorithm reads which boundaries the teacher must provide
    (:meth:`boundaries_used`), which feature losses to compute
    (:meth:`supervised_boundaries`) and whether a loss is on
    (:meth:`is_active`). Starts end to end with every loss on (plain KD).

    Args:
        num_blocks (int): how many blocks the networks are cut into.
        feeding (TeacherFeeding): which boundaries a grouping feeds the
            teacher's feature at.
        alignments (BoundaryAlignments): refuses groupings and losses that
            use a boundary whose widths differ and that has no alignment.
        output_names (list[str]): the output losses' names.
        keep_internal_losses (bool): supervise every boundary, also those
            inside a group, whenever there is more than one group.
    """

    def __init__(self, num_blocks: int, feeding: TeacherFeeding,
                 alignments: BoundaryAlignments, output_names: List[str],
                 keep_internal_losses: bool = False) -> None:
        self.num_blocks = num_blocks
        self.feeding = feeding
        self.alignments = alignments
        self.keep_internal_losses = keep_internal_losses
        self.loss_names: List[str] = ['task'] + [
            f'feat_b{j}' for j in range(num_blocks - 1)] + list(output_names)
        self.groups: Groups = end_to_end(num_blocks)
        self.active_losses: Optional[Tuple[str, ...]] = None  # None: all

    def check_groups(self, groups: Sequence[Sequence[int]]) -> Groups:
        """Validate ``groups`` against the block count and the alignments
        (the boundaries it feeds and supervises)."""
        groups = check_groups(groups, self.num_blocks)
        self.alignments.check_usable(
            set(self.feeding.fed_boundaries(groups))
            | set(self._group_ends(groups)))
        return groups

    def check_losses(self, names: Sequence[str]) -> Tuple[str, ...]:
        """Validate a non-empty list of :attr:`loss_names`."""
        names = (names, ) if isinstance(names, str) else tuple(names)
        unknown = [n for n in names if n not in self.loss_names]
        if unknown or not names:
            raise ValueError(
                f'losses {list(names)} must be a non-empty list of '
                f'{self.loss_names} (the unknown ones: {unknown}).')
        self.alignments.check_usable(
            j for j in range(self.num_blocks - 1) if f'feat_b{j}' in names)
        return names

    def set_groups(self, groups: Sequence[Sequence[int]]) -> None:
        self.groups = self.check_groups(groups)

    def set_active_losses(self, names: Optional[Sequence[str]]) -> None:
        """None restores the default: the student's own losses, the output
        losses, and the feature loss at every group end."""
        self.active_losses = None if names is None else self.check_losses(
            names)

    def is_active(self, name: str) -> bool:
        """Whether the loss ``name`` of :attr:`loss_names` is computed."""
        return self.active_losses is None or name in self.active_losses

    def supervised_boundaries(self) -> List[int]:
        """Boundaries whose feature loss is computed now."""
        return self._supervised(self.groups, self.active_losses)

    def boundaries_used(self, groups: Sequence[Sequence[int]],
                        losses: Optional[Sequence[str]] = None) -> List[int]:
        """Boundaries whose teacher feature training with ``groups`` and
        ``losses`` (None: those the grouping implies) uses: fed to a student
        block or targeted by a feature loss."""
        return sorted(
            set(self.feeding.fed_boundaries(groups))
            | set(self._supervised(groups, losses)))

    def _supervised(self, groups, losses) -> List[int]:
        if losses is not None:
            return [j for j in range(self.num_blocks - 1)
                    if f'feat_b{j}' in losses]
        return self._group_ends(groups)

    def _group_ends(self, groups) -> List[int]:
        """Every group end but the last (with ``keep_internal_losses``,
        every boundary)."""
        if self.keep_internal_losses and len(groups) > 1:
            return list(range(self.num_blocks - 1))
        return [group[-1] for group in groups[:-1]]
