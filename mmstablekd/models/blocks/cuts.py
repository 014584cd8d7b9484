"""Which module outputs cut a backbone's forward pass in two.

A boundary ends a block only if what the backbone computes after it depends
on the network's earlier part through that output alone: otherwise a block
fed the teacher's feature there would still receive the student's own
tensors from before (and its gradient would leak into the block before).
HRNet's multi-resolution stages are the example: after ``stage2`` every
branch goes on, so no single branch output cuts the network.
"""
from typing import Iterable, Optional

from .module_paths import is_ancestor
from .probe import Trace


def is_cut(traced: Trace, path: str, kept: Iterable[int],
           within: Optional[str] = None) -> bool:
    """Whether no module (of ``within``) that runs after ``path`` returned
    receives a tensor that a module returned before it, except ``kept``.

    Args:
        traced: a :func:`trace` of the network.
        path: the candidate boundary module.
        kept: ids of the tensors the later modules may receive: the
            feature a student is fed in place of (or, for a teacher that is
            only read, every tensor ``path`` returned).
        within: the modules that must not look back, None: all of them
            (a detector's neck receives several stage outputs, each one a
            boundary of its own: ``'backbone'``).

    Tensors made by code rather than returned by a module (a reshape, an
    addition of positional embeddings) are not followed.
    """
    end = traced.finished[path]
    kept = set(kept)
    for step, name, received in traced.timeline:
        if step < end or is_ancestor(path, name) or (
                within is not None and not is_ancestor(within, name)):
            continue
        if any(traced.returned.get(i, end) < end for i in received - kept):
            return False
    return True
