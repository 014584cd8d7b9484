"""The teacher's view of the student's batch, when the two normalise images
differently (e.g. YOLOv3: Darknet-53 takes pixels / 255, a MobileNetV2
student the ImageNet mean and std)."""
from typing import Optional, Tuple

import torch
from torch import nn


class TeacherInput(nn.Module):
    """Renormalise the student's preprocessed images for the teacher.

    Both data preprocessors map raw pixels ``x`` (BGR, as loaded) to
    ``(convert(x) - mean) / std``, ``convert`` swapping BGR and RGB where
    configured. The teacher's input is recovered from the student's exactly
    (per channel, an affine map and maybe a swap), except in batch padding,
    which the teacher sees as padding of the student's normalisation.

    An identity where both normalise alike, and where either preprocessor
    does not normalise (an MMPretrain classifier keeps its normalisation in
    the config's top-level ``data_preprocessor``, not in the model: both
    networks then run on the one the config gives).

    Args:
        student, teacher: the two models, with their ``data_preprocessor``.

    Shapes: ``(N, 3, H, W) -> (N, 3, H, W)``.
    """

    def __init__(self, student: nn.Module, teacher: nn.Module) -> None:
        super().__init__()
        ours, theirs = normalisation(student), normalisation(teacher)
        self.active = ours is not None and theirs is not None and any(
            not torch.equal(a, b) for a, b in zip(ours, theirs))
        if not self.active:
            return
        (mean_s, std_s, swap_s), (mean_t, std_t, swap_t) = ours, theirs
        self.swap = bool(swap_s[0] != swap_t[0])
        if self.swap:  # the student's channels in the teacher's order
            mean_s, std_s = mean_s.flip(0), std_s.flip(0)
        self.register_buffer('scale', std_s / std_t, persistent=False)
        self.register_buffer('shift', (mean_s - mean_t) / std_t,
                             persistent=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return inputs
        if self.swap:
            inputs = inputs.flip(1)
        return inputs * self.scale.to(inputs.dtype) + self.shift.to(
            inputs.dtype)

    def extra_repr(self) -> str:
        return 'identity' if not self.active else f'swap_channels={self.swap}'


def normalisation(
        model: nn.Module) -> Optional[Tuple[torch.Tensor, ...]]:
    """``(mean (C, 1, 1), std (C, 1, 1), swaps BGR/RGB (1,))`` of a model's
    data preprocessor, or None when it does not normalise."""
    pre = getattr(model, 'data_preprocessor', None)
    if not getattr(pre, '_enable_normalize', False):
        return None
    swap = torch.tensor([bool(getattr(pre, '_channel_conversion', False))])
    return (pre.mean.detach().float().reshape(-1, 1, 1),
            pre.std.detach().float().reshape(-1, 1, 1), swap)
