import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class KDLoss(nn.Module):
    """Hinton's soft-target loss
    ``T^2 * KL(softmax(z_t/T) || softmax(z_s/T))``.

    On maps of logits ``(N, C, H, W)`` (a segmentor's decode head) it is
    pixel-wise KD: the softmax over the ``C`` classes at every position,
    the KL averaged over the ``N * H * W`` positions.

    Args:
        temperature (float): softmax temperature ``T``. Default: 4.0 (the
            CIFAR-100 recipe; ImageNet recipes use 1.0).
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, temperature: float = 4.0, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'KDLoss temperature must be > 0, got '
                             f'{temperature}.')
        self.temperature = temperature
        self.loss_weight = loss_weight

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student, teacher: logits ``(N, num_classes)``, or maps of them
                ``(N, num_classes, *spatial)``.

        Returns:
            torch.Tensor: scalar loss, averaged over the batch (and the
            positions of maps).
        """
        if student.shape != teacher.shape:
            raise ValueError(
                f'KDLoss needs student and teacher logits of the same shape, '
                f'got {tuple(student.shape)} and {tuple(teacher.shape)}: do '
                f'both heads have the same num_classes?')
        t = self.temperature
        log_p_s = F.log_softmax(student / t, dim=1)
        log_p_t = F.log_softmax(teacher.detach() / t, dim=1)
        kl = F.kl_div(log_p_s, log_p_t, log_target=True, reduction='sum')
        positions = student.numel() // student.shape[1]
        return self.loss_weight * t * t * kl / positions
