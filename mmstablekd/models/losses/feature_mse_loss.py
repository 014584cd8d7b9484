import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
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
        relative (bool): divide the element-wise MSE by the teacher
            feature's variance (per channel over the batch and positions,
            then averaged over channels; a constant): 1 means as far from
            the teacher as the teacher's features spread, whatever their
            scale, and the channels keep their relative weights. The
            variance is the whole batch's: in a distributed run, over every
            rank's share (so two processes train as one with their joint
            batch). Default: False.
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self, normalize: bool = False, relative: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        if normalize and relative:
            raise ValueError('FeatureMSELoss: normalize and relative are two '
                             'ways to make the loss scale-free; set one.')
        self.normalize = normalize
        self.relative = relative
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
        if self.relative:
            loss = loss / channel_variance(teacher).clamp(min=1e-12)
        return self.loss_weight * loss


@torch.no_grad()
def channel_variance(feat: torch.Tensor) -> torch.Tensor:
    """The mean over channels of each channel's variance over the batch and
    positions: ``(N, C, H, W)`` maps, or channels last for ``(N, [L,] C)``;
    in a distributed run over the batches of all ranks (equal shapes)."""
    rows = feat.transpose(0, 1).flatten(1) if feat.dim() == 4 else \
        feat.reshape(-1, feat.shape[-1]).T
    # per channel: count, sum and sum of squares, summed over ranks
    moments = torch.stack([rows.sum(1), rows.pow(2).sum(1)]).double()
    count = rows.shape[1] * get_world_size()
    if get_world_size() > 1:
        all_reduce(moments, op='sum')
    mean, mean_sq = moments / count
    return (mean_sq - mean.pow(2)).clamp(min=0).mean().to(feat.dtype)
