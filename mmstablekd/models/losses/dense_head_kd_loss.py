from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmstablekd.registry import MODELS
from .fp32 import fp32_loss

# mmdet's DeltaXYWHBBoxCoder clips log(w/w_anchor) at |log(16 / 1000)|
_MAX_LOG_RATIO = 4.135


@MODELS.register_module()
class DenseHeadKDLoss(nn.Module):
    """KD on a dense detector head's outputs, as CrossKD distils the
    predictions of the student's features through the teacher's head.

    Both arguments are what an MMDetection dense head's ``forward``
    returns for the FPN levels: ``(cls_scores, bbox_preds, *extras)``, each
    a list of one map per level (RetinaNet, FCOS with its centerness, ATSS,
    GFL).
    With ``p_t`` the teacher's sigmoid class probabilities and ``w`` the
    largest of them at each anchor (the teacher's soft foreground)::

        cls   = sum QFL(s_cls, p_t) = sum BCE(s_cls, p_t) * |p_s - p_t|^beta
        box   = sum w * (1 - GIoU(box_s, box_t))     (L1 with box='raw')
        extra = sum w * KL(sigmoid(t_extra) || sigmoid(s_extra))
        loss  = loss_weight * (cls + reg_weight * box + extra) / sum(w)

    Dividing by ``sum(w)`` (at least 1), a soft count of the teacher's
    foreground anchors, sizes the loss like the detection losses, which
    divide by the number of positive anchors. Each term is 0 where the
    student's outputs equal the teacher's. Logged as one loss.

    Args:
        box (str): how ``bbox_preds`` encode a box, so that two can be
            compared by GIoU: ``'delta'`` (``(dx, dy, dw, dh)`` of
            ``DeltaXYWHBBoxCoder`` with unit ``target_stds``: RetinaNet),
            ``'distance'`` (``(l, t, r, b)`` >= 0 from the anchor point:
            FCOS), ``'distribution'`` (logits of a distribution over
            ``reg_max + 1`` bins per side, decoded to ``(l, t, r, b)`` by
            their expectation, as ``GFLHead``'s ``Integral`` decodes them:
            GFL), or ``'raw'`` (L1 on the values, any encoding).
            Default: ``'delta'``.
        box_dims (int): values per anchor in ``bbox_preds``: 4, or
            ``4 * (reg_max + 1)`` with ``'distribution'`` (68 for GFL's
            ``reg_max=16``), any with ``'raw'``. Default: 4.
        beta (float): exponent of the quality-focal modulation. Default: 1.
        reg_weight (float): weight of the box term. Default: 1.0.
        loss_weight (float): multiplier of the loss. Default: 1.0.
    """
    nested_outputs = True  # StableKD passes the head's outputs whole

    def __init__(self, box: str = 'delta', box_dims: int = 4,
                 beta: float = 1.0, reg_weight: float = 1.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if box not in ('delta', 'distance', 'distribution', 'raw'):
            raise ValueError(f"DenseHeadKDLoss box must be 'delta', "
                             f"'distance', 'distribution' or 'raw', got "
                             f'{box!r}.')
        if box == 'distribution':
            if box_dims % 4 or box_dims < 8:
                raise ValueError(
                    f"DenseHeadKDLoss box='distribution' needs box_dims = "
                    f'4 * (reg_max + 1) (68 for GFLHead(reg_max=16)), got '
                    f'{box_dims}.')
            from mmdet.models.dense_heads.gfl_head import Integral
            self.integral = Integral(reg_max=box_dims // 4 - 1)
        elif box != 'raw' and box_dims != 4:
            raise ValueError(
                f'DenseHeadKDLoss compares {box!r} boxes of 4 values, got '
                f"box_dims={box_dims}: use box='distribution' (GFL) or "
                f"'raw'.")
        self.box, self.box_dims = box, box_dims
        self.beta, self.reg_weight = beta, reg_weight
        self.loss_weight = loss_weight

    @fp32_loss
    def forward(self, student: Sequence, teacher: Sequence) -> torch.Tensor:
        """
        Args:
            student, teacher: ``(cls_scores, bbox_preds, *extras)``; per
                level, ``cls_scores`` ``(N, A * K, H, W)`` logits of ``K``
                sigmoid classes, ``bbox_preds`` ``(N, A * box_dims, H, W)``,
                extras ``(N, A, H, W)`` sigmoid logits (``A`` anchors per
                position); the teacher is treated as a constant.

        Returns:
            torch.Tensor: scalar loss.
        """
        self._check(student, teacher)
        cls_sum = box_sum = extra_sum = fg_sum = 0.
        for level, (s_cls, t_cls) in enumerate(zip(student[0], teacher[0])):
            s_box, t_box = student[1][level], teacher[1][level].detach()
            n, _, h, w = s_box.shape
            anchors = s_box.shape[1] // self.box_dims
            t_prob = t_cls.detach().sigmoid()
            focal = (s_cls.sigmoid() - t_prob).abs().pow(self.beta)
            cls_sum = cls_sum + (F.binary_cross_entropy_with_logits(
                s_cls, t_prob, reduction='none') * focal).sum()
            # (N, A, H, W): the teacher's largest class probability
            fg = t_prob.view(n, anchors, -1, h, w).amax(dim=2)
            fg_sum = fg_sum + fg.sum()
            box_sum = box_sum + (fg * self._box_distance(
                s_box.view(n, anchors, -1, h, w),
                t_box.view(n, anchors, -1, h, w))).sum()
            for s_extra, t_extra in zip(student[2:], teacher[2:]):
                extra_sum = extra_sum + (fg * _bernoulli_kl(
                    s_extra[level].view_as(fg),
                    t_extra[level].detach().view_as(fg))).sum()
        total = cls_sum + self.reg_weight * box_sum + extra_sum
        return self.loss_weight * total / fg_sum.clamp(min=1.)

    def _box_distance(self, s_box: torch.Tensor,
                      t_box: torch.Tensor) -> torch.Tensor:
        """``(N, A, D, H, W)`` -> ``(N, A, H, W)``: 1 - GIoU, or the L1
        summed over the ``D`` values (``'raw'``)."""
        if self.box == 'raw':
            return (s_box - t_box).abs().sum(dim=2)
        s, t = self._corners(s_box), self._corners(t_box)
        area_s = (s[2] - s[0]) * (s[3] - s[1])
        area_t = (t[2] - t[0]) * (t[3] - t[1])
        inter = ((torch.min(s[2], t[2]) - torch.max(s[0], t[0])).clamp(0) *
                 (torch.min(s[3], t[3]) - torch.max(s[1], t[1])).clamp(0))
        union = (area_s + area_t - inter).clamp(min=1e-6)
        hull = ((torch.max(s[2], t[2]) - torch.min(s[0], t[0])) *
                (torch.max(s[3], t[3]) - torch.min(s[1], t[1]))).clamp(
                    min=1e-6)
        giou = inter / union - (hull - union) / hull
        return 1 - giou

    def _corners(self, box: torch.Tensor):
        """``(x1, y1, x2, y2)`` relative to the anchor (centre at 0, unit
        size): GIoU is unchanged by the anchor's position and by scaling
        either axis, so this is the GIoU of the decoded boxes."""
        if self.box == 'distribution':
            box = self._expected_distances(box)
        if self.box in ('distance', 'distribution'):
            left, top, right, bottom = box.clamp(min=0).unbind(dim=2)
            return -left, -top, right, bottom
        dx, dy, dw, dh = box.unbind(dim=2)
        half_w = dw.clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO).exp() / 2
        half_h = dh.clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO).exp() / 2
        return dx - half_w, dy - half_h, dx + half_w, dy + half_h

    def _expected_distances(self, box: torch.Tensor) -> torch.Tensor:
        """``(N, A, 4 * (R + 1), H, W)`` logits -> ``(N, A, 4, H, W)``:
        each side's expected distance in bins (strides), by ``Integral``."""
        n, anchors, dims, h, w = box.shape
        sides = self.integral(box.permute(0, 1, 3, 4, 2).reshape(-1, dims))
        return sides.view(n, anchors, h, w, 4).permute(0, 1, 4, 2, 3)

    def _check(self, student, teacher) -> None:
        shapes = [[[tuple(t.shape) for t in group] for group in outputs]
                  for outputs in (student, teacher)]
        if (len(student) < 2 or shapes[0] != shapes[1]
                or student[1][0].shape[1] % self.box_dims):
            raise ValueError(
                f'DenseHeadKDLoss compares two dense heads\' outputs, '
                f'(cls_scores, bbox_preds, *extras) per FPN level, of equal '
                f'shapes with box_dims={self.box_dims} values per anchor; '
                f'got student {shapes[0]} and teacher {shapes[1]}. Compare '
                f"the outputs of the same head (teacher_module='bbox_head', "
                f"teacher='bbox_head'), with FPNs of equal num_outs.")


def _bernoulli_kl(student: torch.Tensor, teacher: torch.Tensor):
    """``KL(Bernoulli(sigmoid(teacher)) || Bernoulli(sigmoid(student)))``
    element-wise, from logits: the BCE less the teacher's entropy."""
    target = teacher.sigmoid()
    return (F.binary_cross_entropy_with_logits(student, target,
                                               reduction='none') -
            F.binary_cross_entropy_with_logits(teacher, target,
                                               reduction='none'))
