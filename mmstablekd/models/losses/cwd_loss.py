import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class CWDLoss(nn.Module):
    """Channel-wise distillation (Shu et al., "Channel-wise Knowledge
    Distillation for Dense Prediction", ICCV 2021): each channel's map is
    turned into a distribution over its ``H * W`` positions,
    ``softmax(x_c / tau)``, and the student's is matched to the teacher's:
    ``tau^2 * KL(p_t || p_s)``, averaged over the ``N * C`` channels.

    Args:
        tau (float): the spatial softmax's temperature. Default: 1.0 (the
            paper's on segmentation logits).
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        if tau <= 0:
            raise ValueError(f'CWDLoss tau must be > 0, got {tau}.')
        self.tau = tau
        self.loss_weight = loss_weight

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student, teacher: maps ``(N, C, H, W)`` of the same shape (e.g.
                decode head logits, ``C`` classes).

        Returns:
            torch.Tensor: scalar loss.
        """
        if student.shape != teacher.shape or student.dim() != 4:
            raise ValueError(
                f'CWDLoss compares maps (N, C, H, W) of one shape, got '
                f'{tuple(student.shape)} and {tuple(teacher.shape)}: give '
                f'both heads the same num_classes and output stride (or put '
                f'a connector on the student).')
        n, c = student.shape[:2]
        log_p_s = F.log_softmax(student.flatten(2) / self.tau, dim=2)
        log_p_t = F.log_softmax(teacher.detach().flatten(2) / self.tau, dim=2)
        kl = F.kl_div(log_p_s, log_p_t, log_target=True, reduction='sum')
        return self.loss_weight * self.tau ** 2 * kl / (n * c)
