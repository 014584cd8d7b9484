"""Learned weighting of distillation paths (Adaptive Distillation)."""
import re
from typing import Dict, Sequence

import torch
from torch import nn

from mmstablekd.registry import MODELS


@MODELS.register_module()
class AdaptiveLossAggregator(nn.Module):
    """Weight each distillation path ``i`` by a learned log-weight ``s_i``:
    ``alpha * (exp(-s_i) * L_i + s_i)`` (Chennupati et al., BMVC 2021).

    The ``s_i`` are parameters of the model, trained by the same optimizer
    as the student (exclude them from weight decay with
    ``paramwise_cfg=dict(custom_keys={'loss_aggregator':
    dict(decay_mult=0.)})``). The student's own losses are not passed here
    and stay as they are.

    Paths are the names of the distillation losses without ``loss_``:
    ``feat_b<j>`` for the feature loss at boundary ``j`` and the output
    losses by name. Names that differ only by a ``_b<j>`` suffix (the same
    loss at several boundaries) share one ``s_i`` unless ``layer_wise``.

    Args:
        paths (list[str]): every loss name that may be passed in (given by
            the model).
        layer_wise (bool): one ``s_i`` per boundary instead of one per
            kind of loss. Default: False.
        alpha (float): multiplier of the whole sum. Default: 1.0.
        init (float): initial ``s_i``. Default: 0.0 (weight 1).

    Returns (forward): for each loss ``loss_<name>`` its weighted value under
    the same key, plus per path ``loss_s_<path>`` (the ``alpha * s_i``
    term) and ``weight_<path>`` (``exp(-s_i)``, logged only).
    """

    def __init__(self,
                 paths: Sequence[str],
                 layer_wise: bool = False,
                 alpha: float = 1.0,
                 init: float = 0.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.path_of = {
            name: name if layer_wise else re.sub(r'_b\d+$', '', name)
            for name in paths
        }
        self.log_weights = nn.ParameterDict({
            path: nn.Parameter(torch.tensor(float(init)))
            for path in dict.fromkeys(self.path_of.values())
        })

    def forward(self, losses: Dict[str, torch.Tensor]
                ) -> Dict[str, torch.Tensor]:
        """``losses``: ``loss_<name>`` -> scalar tensor."""
        weighted, paths = {}, []
        for key, value in losses.items():
            name = key[len('loss_'):]
            if name not in self.path_of:
                raise KeyError(f'{key}: no learned weight for {name!r}; '
                               f'known: {list(self.path_of)}.')
            log_weight = self.log_weights[self.path_of[name]]
            weighted[key] = self.alpha * torch.exp(-log_weight) * value
            paths.append(self.path_of[name])
        for path in dict.fromkeys(paths):
            log_weight = self.log_weights[path]
            weighted[f'loss_s_{path}'] = self.alpha * log_weight
            weighted[f'weight_{path}'] = torch.exp(-log_weight).detach()
        return weighted
