import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class ATLoss(nn.Module):
    """Attention transfer (Zagoruyko & Komodakis), a path of Adaptive
    Distillation.

    Each feature map is reduced to a spatial attention map
    ``A = sum_c |F_c|^p`` (``(N, H*W)``), L2-normalised per sample, and the
    loss is the mean squared error between the student's and the teacher's
    maps (mean over ``N * H * W``). The channel sum makes it independent of
    the widths.

    Args:
        p (float): exponent of the channel sum. Default: 2.
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, p: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        if p <= 0:
            raise ValueError(f'ATLoss p must be > 0, got {p}.')
        self.p = p
        self.loss_weight = loss_weight

    def attention(self, feat: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> L2-normalised attention maps ``(N, H*W)``."""
        return F.normalize(feat.abs().pow(self.p).sum(dim=1).flatten(1), dim=1)

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student: ``(N, C_s, H, W)``.
            teacher: ``(N, C_t, H, W)``, same ``N, H, W``, any ``C_t``;
                detached.

        Returns:
            torch.Tensor: scalar loss.
        """
        if (student.dim() < 3 or student.dim() != teacher.dim()
                or student.shape[0] != teacher.shape[0]
                or student.shape[2:] != teacher.shape[2:]):
            raise ValueError(
                f'ATLoss needs (N, C, H, W) feature maps of the same batch '
                f'and spatial size (channels may differ), got '
                f'{tuple(student.shape)} and {tuple(teacher.shape)}: compare '
                f'boundaries of the same resolution, or resize one side.')
        return self.loss_weight * F.mse_loss(
            self.attention(student), self.attention(teacher.detach()))
