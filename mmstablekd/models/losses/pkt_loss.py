import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss


@MODELS.register_module()
class PKTLoss(nn.Module):
    """Probabilistic Knowledge Transfer with two kernels, as InDistill uses
    it (Passalis & Tefas; Sarridis et al.).

    For each network, two in-batch similarity kernels over the samples'
    embeddings ``x_i``::

        K1_ij = (cos(x_i, x_j) + 1) / 2
        K2_ij = 1 / (1 + ||x_i - x_j||)

    are row-normalised into conditional probabilities ``P_ij = K_ij /
    sum_k K_ik``, and the loss is the symmetric (Jeffreys) divergence
    summed over the two kernels::

        loss = loss_weight * sum_K mean_ij((P_t - P_s) * (log P_t - log P_s))

    Only ``N x N`` matrices are compared, so student and teacher embeddings
    may have different sizes.

    Args:
        eps (float): numerical guard: added to the squared distances before
            the square root (finite gradient on the diagonal, where the
            distance is 0) and to the probabilities inside the logs.
            Default: 1e-6 (the authors' value).
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0):
        super().__init__()
        if eps < 0:
            raise ValueError(f'PKTLoss eps must be >= 0, got {eps}.')
        self.eps = eps
        self.loss_weight = loss_weight

    def _probabilities(self, x: torch.Tensor):
        """The two row-normalised kernels ``(N, N)`` of embeddings
        ``(N, D)``."""
        unit = F.normalize(x, dim=1)
        cosine = (unit @ unit.t() + 1) / 2
        sq_norms = x.pow(2).sum(dim=1)
        sq_dists = sq_norms[:, None] + sq_norms[None, :] - 2 * x @ x.t()
        inverse_distance = 1 / (1 + (sq_dists.clamp(min=0) + self.eps).sqrt())
        return [k / k.sum(dim=1, keepdim=True)
                for k in (cosine, inverse_distance)]

    @fp32_loss
    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student: embeddings ``(N, D_s)`` (any ``(N, ...)`` is
                flattened).
            teacher: embeddings ``(N, D_t)``, ``D_t`` may differ from
                ``D_s``; detached.

        Returns:
            torch.Tensor: scalar loss.
        """
        if student.shape[0] != teacher.shape[0]:
            raise ValueError(f'PKTLoss needs as many student as teacher '
                             f'samples, got {student.shape[0]} and '
                             f'{teacher.shape[0]}.')
        p_s = self._probabilities(student.flatten(1))
        p_t = self._probabilities(teacher.detach().flatten(1))
        loss = sum(((t - s) * ((t + self.eps).log() - (s + self.eps).log())
                    ).mean() for s, t in zip(p_s, p_t))
        return self.loss_weight * loss
