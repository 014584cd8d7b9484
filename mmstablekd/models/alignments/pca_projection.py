"""A fixed projection of the teacher's feature onto its principal
components, fitted once on training batches before training."""
from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmstablekd.registry import MODELS


@MODELS.register_module()
class PCAProjection(BaseModule):
    """Project ``in_channels`` teacher channels onto their ``out_channels``
    leading principal components (per position: a fixed 1x1 convolution).

    Of all linear maps to ``out_channels`` channels, this one keeps the most
    of the teacher feature (the largest share of its variance), and the
    feature loss in this space is the teacher-space distance between the
    student's feature and the teacher's, both read in that subspace.

    Fitted once (:meth:`fit`), then fixed: a decomposed block's target does
    not move while the next block trains, and the tensor it learns to output
    is exactly the tensor the next block is fed. No trainable parameters;
    the fitted projection is kept in the checkpoint (buffers), so a resumed
    run keeps it.

    The projected feature is made reachable by the student: where the
    student's own feature at this boundary is never negative (a stage that
    ends with a ReLU), each component is shifted by its smallest value on
    the fitting samples and clipped at zero; otherwise it is left signed.

    A student wider than the teacher gets all the teacher's components, then
    ``out_channels - in_channels`` channels of zeros.

    Args:
        in_channels (int): the teacher's width at the boundary.
        out_channels (int): the student's width.
        whiten (bool): scale every component to unit variance, so that the
            feature loss weighs all of them equally. Default: False (the
            loss weighs each by its variance).
        match_range (bool): shift to the student's range as above. False
            keeps the components signed even after a ReLU (an ablation:
            the student cannot reach the negative part).

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``, or
    channels last, ``(N, [L,] in_channels) -> (N, [L,] out_channels)``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 whiten: bool = False, match_range: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.whiten, self.match_range = whiten, match_range
        self.register_buffer('weight', torch.zeros(out_channels, in_channels))
        self.register_buffer('bias', torch.zeros(out_channels))
        self.register_buffer('nonnegative', torch.tensor(False))
        self.register_buffer('fitted', torch.tensor(False))

    @torch.no_grad()
    def fit(self, teacher: torch.Tensor, student: torch.Tensor) -> Dict:
        """Fit on samples of the two features at this boundary.

        Args:
            teacher: ``(M, in_channels)`` teacher feature vectors (one per
                position of the fitting batches).
            student: ``(M', out_channels)`` the student's own feature
                vectors at the boundary, used only for their range.

        Returns:
            dict: ``kept_variance``, the share of the teacher's variance
            the projection keeps.
        """
        teacher = teacher.double()
        mean = teacher.mean(0)
        centred = teacher - mean
        cov = centred.T @ centred / max(len(teacher) - 1, 1)
        variances, vectors = torch.linalg.eigh(cov)  # ascending
        variances = variances.flip(0).clamp(min=0)
        kept = min(self.in_channels, self.out_channels)
        components = vectors.flip(1)[:, :kept].T
        if self.whiten:
            components = components / (variances[:kept, None].sqrt() + 1e-6)
        weight = components.new_zeros(self.out_channels, self.in_channels)
        weight[:kept] = components  # a wider student: zero channels after
        bias = -weight @ mean
        nonnegative = self.match_range and bool((student >= 0).all())
        if nonnegative:  # shift so that every fitting sample is >= 0
            bias = bias - (teacher @ weight.T + bias).min(0).values
        self.weight.copy_(weight)
        self.bias.copy_(bias)
        self.nonnegative.fill_(nonnegative)
        self.fitted.fill_(True)
        return dict(kept_variance=float(variances[:kept].sum() /
                                        variances.sum().clamp(min=1e-12)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.weight.to(x.dtype), self.bias.to(x.dtype)
        if x.dim() == 4:
            out = F.conv2d(x, weight[:, :, None, None], bias)
        else:  # channels last: (N, C) or tokens (N, L, C)
            out = F.linear(x, weight, bias)
        return out.clamp(min=0) if self.nonnegative else out
