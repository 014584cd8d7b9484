import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class GramLoss(nn.Module):
    """Gram-matrix (channel-correlation) similarity, a path of Adaptive
    Distillation.

    Per sample, each channel's ``H*W`` values are L2-normalised and the
    ``C x C`` Gram matrix of these channel vectors (their pairwise
    cosines) is taken; the loss is the mean squared error between the
    student's and the teacher's Grams (mean over ``N * C * C``). Spatial
    sizes may differ; channel counts may not.

    Args:
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @staticmethod
    def gram(feat: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> Gram matrices ``(N, C, C)`` of the
        L2-normalised channel vectors."""
        channels = F.normalize(feat.flatten(2), dim=2)
        return channels @ channels.transpose(1, 2)

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student: ``(N, C, H_s, W_s)``.
            teacher: ``(N, C, H_t, W_t)``, same ``N`` and ``C``; detached.

        Returns:
            torch.Tensor: scalar loss.
        """
        if (student.dim() < 3 or teacher.dim() < 3
                or student.shape[0] != teacher.shape[0]):
            raise ValueError(
                f'GramLoss needs (N, C, H, W) feature maps of the same batch '
                f'size, got {tuple(student.shape)} and '
                f'{tuple(teacher.shape)}.')
        if student.shape[1] != teacher.shape[1]:
            raise ValueError(
                f'GramLoss needs equal channel counts, got student '
                f'{student.shape[1]} and teacher {teacher.shape[1]}: map one '
                f'side to the other\'s width with a connector/adapter (e.g. '
                f'mmstablekd.ConvBNAdapter) before this loss.')
        return self.loss_weight * F.mse_loss(
            self.gram(student), self.gram(teacher.detach()))
