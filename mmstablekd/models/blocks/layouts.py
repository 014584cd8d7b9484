"""How a boundary module returns its feature: a layout per boundary.

Three layouts cover the backbones of MMPretrain and MMDetection:

- ``map``: a tensor ``(N, C, H, W)`` (CNN stages);
- ``tokens``: a tensor ``(N, E + H*W, C)``, ``E`` extra tokens (class,
  distillation) first, then the patch tokens row by row (ViT, DeiT);
- either of them inside a tuple, e.g. a Swin stage's ``(tokens, hw_shape)``;
  ``index`` says where (the finest feature, when there are several).

A layout converts its feature to a map and back (:meth:`FeatureLayout.to_map`,
:meth:`FeatureLayout.from_map`), so that two networks whose boundaries come in
different layouts can be aligned on maps.
"""
import math
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class FeatureLayout:
    """The layout of one boundary's output.

    Attributes:
        kind (str): ``'map'`` or ``'tokens'``.
        channels (int): ``C``.
        stride (float): input pixels per feature position (total stride).
        extra_tokens (int): tokens before the patch tokens (``tokens`` only).
        index (int, optional): where the feature sits in a tuple output;
            None: the output is the feature.
    """
    kind: str
    channels: int
    stride: float
    extra_tokens: int = 0
    index: Optional[int] = None

    def feature(self, output: Any) -> torch.Tensor:
        """The feature tensor in a module's output."""
        return output if self.index is None else output[self.index]

    def grid(self, input_hw: Sequence[int]) -> Tuple[int, int]:
        """``(H, W)`` of the feature for an input of ``input_hw`` pixels
        (strides round up, as padded convolutions and patch embeddings
        do)."""
        return tuple(math.ceil(s / self.stride - 1e-6) for s in input_hw)

    def to_map(self, feat: torch.Tensor,
               input_hw: Sequence[int]) -> torch.Tensor:
        """``(N, C, H, W)``: the feature's spatial positions as a map (extra
        tokens dropped)."""
        if self.kind == 'map':
            return feat
        h, w = self.grid(input_hw)
        patches = feat[:, self.extra_tokens:]
        if patches.shape[1] != h * w:
            raise ValueError(
                f'{patches.shape[1]} patch tokens do not form the '
                f'{h}x{w} grid of a {tuple(input_hw)} input at stride '
                f'{self.stride:g}.')
        return patches.transpose(1, 2).reshape(len(feat), -1, h, w)

    def from_map(self, feat_map: torch.Tensor,
                 extra: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The inverse of :meth:`to_map`; ``extra`` ``(N, E, C)`` are put in
        front of the patch tokens."""
        if self.kind == 'map':
            return feat_map
        tokens = feat_map.flatten(2).transpose(1, 2)
        if self.extra_tokens:
            tokens = torch.cat([extra, tokens], dim=1)
        return tokens

    def extra(self, feat: torch.Tensor) -> Optional[torch.Tensor]:
        """The extra tokens ``(N, E, C)``, or None."""
        return feat[:, :self.extra_tokens] if self.extra_tokens else None

    def same_positions(self, other: 'FeatureLayout') -> bool:
        """Whether both have the same positions in the same order (so that
        a per-position map between them needs no conversion)."""
        return (self.kind, self.stride, self.extra_tokens) == (
            other.kind, other.stride, other.extra_tokens)

    def describe(self, input_hw: Sequence[int]) -> str:
        """E.g. ``'map 64x56x56'`` or ``'tokens 1+196x384 (14x14)'``."""
        h, w = self.grid(input_hw)
        if self.kind == 'map':
            text = f'map {self.channels}x{h}x{w}'
        else:
            extra = f'{self.extra_tokens}+' if self.extra_tokens else ''
            text = (f'tokens {extra}{h * w}x{self.channels} '
                    f'({h}x{w})')
        return text if self.index is None else f'{text} [tuple item ' \
            f'{self.index}]'


def detect_layout(output: Any, input_hw: Sequence[int],
                  extra_tokens: int = 0) -> Optional[FeatureLayout]:
    """The layout of a module's ``output`` for an input of ``input_hw``
    pixels, or None when it holds no feature.

    Args:
        output: what the module returned.
        input_hw: ``(H, W)`` of the image.
        extra_tokens: class/distillation tokens of the network
            (``backbone.num_extra_tokens`` of MMPretrain's ViTs), counted
            only when the patch tokens then form a grid of the image's
            aspect.
    """
    if isinstance(output, (tuple, list)):
        found = [
            replace(layout, index=i)
            for i, item in enumerate(output)
            if isinstance(item, torch.Tensor) for layout in
            [detect_layout(item, input_hw, extra_tokens)] if layout
        ]
        # e.g. an MMDetection Swin stage: (downsampled, its shape, the
        # stage's output, its shape): the stage's output is the finest
        return min(found, key=lambda layout: layout.stride, default=None)
    if not isinstance(output, torch.Tensor) or output.dim() not in (3, 4):
        return None
    if output.dim() == 4:
        h, w = output.shape[2:]
        stride = _stride(h * w, input_hw) or input_hw[0] / h
        return FeatureLayout('map', output.shape[1], stride)
    for extra in dict.fromkeys((extra_tokens, 0)):
        stride = _stride(output.shape[1] - extra, input_hw)
        if stride is not None:
            return FeatureLayout('tokens', output.shape[2], stride, extra)
    return None


def _stride(positions: int, input_hw: Sequence[int]) -> Optional[float]:
    """The stride at which ``positions`` positions tile an ``input_hw``
    image, if they do; a power of two when one fits (so that the grid of
    other input sizes comes out right)."""
    if positions <= 0:
        return None
    stride = math.sqrt(input_hw[0] * input_hw[1] / positions)
    for candidate in (2**round(math.log2(stride)), stride):
        h, w = (math.ceil(s / candidate - 1e-6) for s in input_hw)
        if h * w == positions:
            return candidate
    return None


def resize_map(feat_map: torch.Tensor, size: Sequence[int],
               mode: str) -> torch.Tensor:
    """``(N, C, H, W) -> (N, C, *size)``: ``'bilinear'`` (antialiased when
    shrinking) or ``'nearest'``; unchanged when the size agrees."""
    if tuple(feat_map.shape[-2:]) == tuple(size):
        return feat_map
    if mode == 'nearest':
        return F.interpolate(feat_map, size=tuple(size), mode='nearest')
    shrink = feat_map.shape[-2] > size[0] or feat_map.shape[-1] > size[1]
    return F.interpolate(feat_map, size=tuple(size), mode='bilinear',
                         align_corners=False, antialias=shrink)
