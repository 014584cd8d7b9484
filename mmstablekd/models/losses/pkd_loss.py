import torch
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class PKDLoss(nn.Module):
    """PKD's feature loss (Cao et al., NeurIPS 2022): both features
    standardised per channel over the batch and positions, then MSE / 2.

    With ``z = (x - mean_c) / sqrt(var_c + eps)`` (biased variance), the
    loss of one feature pair is::

        loss_weight * mean((z_s - z_t)^2) / 2 = loss_weight * mean_c(1 - r_c)

    where ``r_c`` is the Pearson correlation of channel ``c`` of the two
    features over ``N x H x W`` values (up to ``eps``). It ignores each
    channel's scale and offset in either network, so that no FPN level or
    channel of large magnitude dominates. Tuples of FPN levels are paired
    level by level and summed by :class:`StableKD`.

    Args:
        eps (float): added to each channel's variance. Default: 1e-6.
        loss_weight (float): multiplier of the loss (PKD's configs: 6 per
            level for two-stage teachers, 10 for one-stage). Default: 1.0.
    """

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0):
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student, teacher: maps ``(N, C, H, W)``, or channels last
                ``(N, [L,] C)``, of equal shape; the teacher is treated as
                a constant.

        Returns:
            torch.Tensor: scalar loss, in ``[0, 2 * loss_weight]``.
        """
        if student.shape != teacher.shape:
            raise ValueError(
                f'PKDLoss compares features of equal shape, got student '
                f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}. '
                f'Give both FPNs the same out_channels, or pass the student '
                f'through a connector= (e.g. ConvBNAdapter).')
        z_s = self._standardise(student)
        z_t = self._standardise(teacher.detach())
        return self.loss_weight * (z_s - z_t).pow(2).mean() / 2

    def _standardise(self, feat: torch.Tensor) -> torch.Tensor:
        """``feat`` as ``(C, M)`` rows, each channel at mean 0, variance 1
        over its ``M`` values (batch and positions)."""
        rows = feat.transpose(0, 1).flatten(1) if feat.dim() == 4 else \
            feat.reshape(-1, feat.shape[-1]).T
        mean = rows.mean(dim=1, keepdim=True)
        var = rows.var(dim=1, unbiased=False, keepdim=True)
        return (rows - mean) / (var + self.eps).sqrt()
