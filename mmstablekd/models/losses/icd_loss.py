from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class ICDLoss(nn.Module):
    """Invariant Consistency Distillation (Giakoumoglou & Stathaki, 2024).

    Both pooled features go through a trainable linear head to
    ``embed_dim`` and are L2-normalised into ``z_s``, ``z_t``. With a
    learnable logit scale ``tau = min(exp(theta), max_logit_scale)`` and a
    learnable scalar bias ``b``, the in-batch similarity matrix is
    ``S = tau * z_s @ z_t.T + b`` (``N x N``, student rows, teacher columns)
    and::

        contrastive = CE(S, arange(N))
        invariance  = KL(Q || P),  P = softmax(S, dim=1),
                                   Q = softmax(S, dim=0).T  (batch mean)
        loss = loss_weight * (contrastive + invariance_weight * invariance)

    The other samples of the batch are the negatives (no memory bank), so
    use batches of >= 64 with ``drop_last=True``. The teacher *feature* is
    a constant, but the teacher-side head is trained (through ``z_t``).
    The heads, ``theta`` and ``b`` are parameters of this module: they are
    trained when the loss is built inside the model (e.g. as a StableKD
    ``output_losses`` entry). ``b`` shifts every logit equally, so both
    softmax-based terms are invariant to it and its gradient is exactly 0;
    it is kept because the authors' code has it.

    Args:
        student_channels (int): width ``C_s`` of the student's feature.
        teacher_channels (int): width ``C_t`` of the teacher's feature.
        embed_dim (int): width of the common embedding. Default: 128.
        invariance_weight (float): multiplier of the KL term. Default: 0.5.
        init_logit_scale (float): initial ``theta`` (``tau = exp(theta)``).
            Default: 1.0.
        max_logit_scale (float): upper clamp of ``tau``. Default: 10.0.
        init_bias (float): initial ``b``. Default: 0.0.
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 embed_dim: int = 128,
                 invariance_weight: float = 0.5,
                 init_logit_scale: float = 1.0,
                 max_logit_scale: float = 10.0,
                 init_bias: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        for name, value in (('student_channels', student_channels),
                            ('teacher_channels', teacher_channels),
                            ('embed_dim', embed_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f'ICDLoss {name} must be a positive int, '
                                 f'got {value!r}.')
        if max_logit_scale <= 0:
            raise ValueError(f'ICDLoss max_logit_scale must be > 0, got '
                             f'{max_logit_scale}.')
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.invariance_weight = invariance_weight
        self.max_logit_scale = max_logit_scale
        self.loss_weight = loss_weight
        self.student_head = nn.Linear(student_channels, embed_dim)
        self.teacher_head = nn.Linear(teacher_channels, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(init_logit_scale)))
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))

    @property
    def tau(self) -> torch.Tensor:
        """The current logit scale ``min(exp(theta), max_logit_scale)``."""
        return self.logit_scale.exp().clamp(max=self.max_logit_scale)

    def _flat(self, feat: Features, side: str, width: int) -> torch.Tensor:
        if isinstance(feat, (tuple, list)):
            if len(feat) != 1:
                raise ValueError(
                    f'ICDLoss takes one {side} feature, got a sequence of '
                    f'{len(feat)}: pass its elements one by one.')
            feat = feat[0]
        flat = feat.flatten(1)
        if flat.shape[1] != width:
            raise ValueError(
                f'ICDLoss expected {side} features of width {width} '
                f'({side}_channels), got shape {tuple(feat.shape)} '
                f'(width {flat.shape[1]}): feed the pooled (N, C) or '
                f'(N, C, 1, 1) feature, and set {side}_channels to C.')
        return flat

    @fp32_loss
    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """
        Args:
            student: pooled student feature ``(N, C_s)`` or
                ``(N, C_s, 1, 1)`` (any ``(N, ...)`` of ``C_s`` values per
                sample is flattened).
            teacher: pooled teacher feature ``(N, C_t)`` or
                ``(N, C_t, 1, 1)``; detached.

        Returns:
            torch.Tensor: scalar loss.
        """
        f_s = self._flat(student, 'student', self.student_channels)
        f_t = self._flat(teacher, 'teacher', self.teacher_channels).detach()
        if f_s.shape[0] != f_t.shape[0]:
            raise ValueError(f'ICDLoss needs as many student as teacher '
                             f'samples, got {f_s.shape[0]} and '
                             f'{f_t.shape[0]}.')
        z_s = F.normalize(self.student_head(f_s), dim=1)
        z_t = F.normalize(self.teacher_head(f_t), dim=1)
        logits = self.tau * z_s @ z_t.t() + self.bias
        target = torch.arange(logits.shape[0], device=logits.device)
        contrastive = F.cross_entropy(logits, target)
        log_p = F.log_softmax(logits, dim=1)
        log_q = F.log_softmax(logits, dim=0).t()
        invariance = F.kl_div(
            log_p, log_q, log_target=True, reduction='batchmean')
        return self.loss_weight * (
            contrastive + self.invariance_weight * invariance)

    def extra_repr(self) -> str:
        return (f'invariance_weight={self.invariance_weight}, '
                f'max_logit_scale={self.max_logit_scale}, '
                f'loss_weight={self.loss_weight}')
