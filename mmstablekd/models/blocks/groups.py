"""Groupings of blocks: ordered partitions of ``range(num_blocks)``."""
from typing import List, Sequence, Tuple

Groups = Tuple[Tuple[int, ...], ...]


def check_groups(groups: Sequence[Sequence[int]], num_blocks: int) -> Groups:
    """Validate a grouping and return it as a tuple of tuples.

    A grouping is an ordered partition of the blocks into runs of consecutive
    indices, e.g. ``[[0], [1], [2, 3]]`` for 4 blocks.

    Raises:
        ValueError: naming what is wrong and what a valid grouping looks like.
    """
    example = [[i] for i in range(num_blocks)]
    try:
        groups = tuple(tuple(int(b) for b in group) for group in groups)
    except TypeError:
        raise ValueError(f'groups must be a list of lists of block indices, '
                         f'e.g. {example}; got {groups!r}') from None
    flat = [b for group in groups for b in group]
    if any(len(group) == 0 for group in groups) or \
            flat != list(range(num_blocks)):
        raise ValueError(
            f'groups {[list(g) for g in groups]} is not an ordered partition '
            f'of the {num_blocks} blocks: every block index '
            f'0..{num_blocks - 1} must appear exactly once, in order, in '
            f'non-empty runs of consecutive blocks, e.g. {example} '
            f'(decomposed) or {[list(range(num_blocks))]} (end-to-end).')
    return groups


def end_to_end(num_blocks: int) -> Groups:
    """The grouping with one group holding every block (= plain KD)."""
    return (tuple(range(num_blocks)), )


def group_index_of_blocks(groups: Groups) -> List[int]:
    """``result[b]`` is the index of the group that holds block ``b``."""
    return [g for g, group in enumerate(groups) for _ in group]
