from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmstablekd.registry import MODELS


@MODELS.register_module()
class ConvBNAdapter(BaseModule):
    """1x1 convolution + BatchNorm mapping ``in_channels`` to ``out_channels``.

    A trainable connector, e.g. a student feature on its way to a teacher
    module in an output loss (softmax regression). As a boundary
    ``alignment`` it learns with the block it feeds, so that block's
    predecessor chases a moving target: fixed alignments do better there
    (``benchmarks/heterogeneous_pairs.py``). Never part of the deployed
    student.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``, or
    ``(N, in_channels) -> (N, out_channels)`` for pooled features.
    """

    def __init__(self, in_channels: int, out_channels: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = ConvModule(
            in_channels,
            out_channels,
            kernel_size=1,
            bias=False,
            norm_cfg=dict(type='BN'),
            act_cfg=None)

    def forward(self, x):
        if x.dim() == 2:
            return self.layers(x[:, :, None, None]).flatten(1)
        return self.layers(x)
