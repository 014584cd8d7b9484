"""A learned resize between two networks' grids."""
import torch
from mmengine.model import BaseModule
from torch import nn

from mmstablekd.registry import MODELS


@MODELS.register_module()
class ConvResize(BaseModule):
    """Resize a map by an integer factor with a learned depthwise kernel: a
    transposed convolution (kernel and stride ``factor``) to enlarge, a
    convolution to shrink. It starts as nearest-neighbour enlarging or
    average pooling, and trains with the block it feeds.

    Args:
        channels (int): ``C``.
        factor (float): output size / input size, an integer or the inverse
            of one.

    Shapes: ``(N, C, H, W) -> (N, C, H * factor, W * factor)``.
    """

    def __init__(self, channels: int, factor: float, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        step = round(max(factor, 1 / factor))
        if not self.can_resize(factor):
            raise ValueError(
                f'ConvResize resizes by integer factors, not {factor:g}: '
                f"use resize='nearest' for this pair.")
        kind = nn.ConvTranspose2d if factor > 1 else nn.Conv2d
        self.conv = kind(channels, channels, step, stride=step,
                         groups=channels)
        with torch.no_grad():
            self.conv.weight.fill_(1.0 if factor > 1 else 1.0 / step**2)
            self.conv.bias.zero_()

    @staticmethod
    def can_resize(factor: float) -> bool:
        """Whether ``factor`` (not 1) is an integer or the inverse of one."""
        step = max(factor, 1 / factor)
        return step > 1 and abs(step - round(step)) < 1e-6

    def init_weights(self) -> None:
        """Keep the nearest / average start (no random re-initialisation
        by the model's ``init_weights``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
