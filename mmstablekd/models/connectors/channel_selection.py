"""InDistill's channel selection: the teacher's strongest channels."""
import torch
from torch import nn

from mmstablekd.registry import MODELS


@MODELS.register_module()
class ChannelSelection(nn.Module):
    """Keep ``out_channels`` of the teacher's ``in_channels`` channels: those
    written by the filters with the largest L1 norm (InDistill, Sarridis et
    al.). Equivalent to pruning the teacher's last convolution at the
    boundary to the student's width, without touching the teacher.

    Used as ``alignment=dict(type='ChannelSelection')`` of
    :class:`~mmstablekd.models.StableKD`: the student's boundary feature is
    compared with (and, in a decomposed grouping, the next block is fed) the
    selected teacher channels.

    The channels are chosen by :meth:`init_from_teacher`, once, from the
    teacher's weights. No trainable parameters.

    Shapes: ``(N, in_channels, ...) -> (N, out_channels, ...)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels > in_channels:
            raise ValueError(
                f'ChannelSelection keeps a subset of channels and cannot '
                f'widen {in_channels} to {out_channels}: the teacher must be '
                f'at least as wide as the student at every boundary.')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.register_buffer(
            'indices', torch.arange(out_channels), persistent=False)

    @torch.no_grad()
    def init_from_teacher(self, boundary: nn.Module) -> None:
        """Select by the L1 norms of the filters of the last convolution in
        ``boundary`` (the teacher module whose output is selected) that
        writes ``in_channels`` channels: for a residual stage, the last
        block's last convolution, whose indices also hold for the stage
        output."""
        convs = [
            m for m in boundary.modules()
            if isinstance(m, nn.Conv2d) and m.out_channels == self.in_channels
        ]
        if not convs:
            raise ValueError(
                f'ChannelSelection found no Conv2d with {self.in_channels} '
                f'output channels in the teacher boundary module '
                f'{type(boundary).__name__}: cut the teacher at a module that '
                f'ends with a convolution (e.g. a ResNet stage).')
        norms = convs[-1].weight.abs().flatten(1).sum(dim=1)
        self.indices = norms.topk(self.out_channels).indices.sort().values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.indices]
