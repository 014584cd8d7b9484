"""Run a loss in fp32, whatever autocast region it is called from."""
import functools

import torch

from ..blocks.nested import iter_tensors, map_tensors


def fp32_loss(forward):
    """Decorate a loss ``forward``: cast floating inputs to fp32 and disable
    autocast inside, so that softmax/log/exp keep full precision under AMP."""

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        first = next(iter_tensors((args, kwargs)), None)
        device_type = first.device.type if first is not None else 'cpu'
        to_fp32 = lambda t: t.float() if t.is_floating_point() else t  # noqa
        with torch.autocast(device_type=device_type, enabled=False):
            return forward(self, *map_tensors(args, to_fp32),
                           **map_tensors(kwargs, to_fp32))

    return wrapper
