"""What the block machinery requires of an MMSegmentation segmentor.

An ``EncoderDecoder`` hands its backbone's (or neck's) outputs, a tuple, to
its decode head and auxiliary head(s), which pick their inputs by
``in_index``. Its blocks are cut like a detector's: blocks ``0..N-2`` are
backbone stages, the last block is the neck (if any) and the heads, and
every stage output the heads receive ends a block. MMSegmentation runs the
heads by ``head.forward(x)`` inside ``head.loss`` / ``head.predict``, so
the probe calls them itself (:func:`run_heads`) for the heads to show as
the modules that receive the stage outputs.
"""
from typing import List

from torch import nn


def is_segmentor(model: nn.Module) -> bool:
    """Whether ``model`` is an MMSegmentation segmentor."""
    try:
        from mmseg.models.segmentors import BaseSegmentor
    except ImportError:  # MMSegmentation is not installed: no segmentor
        return False
    return isinstance(model, BaseSegmentor)


def heads(model: nn.Module) -> List[nn.Module]:
    """A segmentor's decode head and auxiliary head(s), in that order."""
    found = [model.decode_head] if model.with_decode_head else []
    if model.with_auxiliary_head:
        aux = model.auxiliary_head
        found += list(aux) if isinstance(aux, nn.ModuleList) else [aux]
    return found


def run_heads(model: nn.Module, feats) -> None:
    """Call every head of a segmentor on ``feats`` (the tuple
    ``extract_feat`` returns), through ``__call__`` so that hooks see each
    head receive them; a no-op for other models."""
    if is_segmentor(model):
        for head in heads(model):
            head(feats)
