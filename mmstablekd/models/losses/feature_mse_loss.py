import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    """Mean squared error between a student and a teacher feature map.

    Args:
        normalize (bool): compare the L2-normalised per-sample feature vectors
            (each sample flattened to ``C*H*W`` values); the loss is then the
            batch mean of ``||u_s - u_t||^2``, in ``[0, 4]``, independent of
            the features' scale. Default: False (element-wise MSE).
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, normalize: bool = False, loss_weight: float = 1.0):
        super().__init__()
        self.normalize = normalize
        self.loss_weight = loss_weight

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student, teacher: ``(N, C, H, W)`` (or any ``(N, ...)``) of equal
                shape; the teacher is treated as a constant.

        Returns:
            torch.Tensor: scalar loss.
        """
        teacher = teacher.detach()
        if self.normalize:
            student = F.normalize(student.flatten(1), dim=1)
            teacher = F.normalize(teacher.flatten(1), dim=1)
            loss = (student - teacher).pow(2).sum(dim=1).mean()
        else:
            loss = F.mse_loss(student, teacher)
        return self.loss_weight * loss
