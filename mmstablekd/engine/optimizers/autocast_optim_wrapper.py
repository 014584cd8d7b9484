from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmstablekd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward passes run under ``torch.autocast``.

    MMEngine's ``AmpOptimWrapper`` requires a GPU; this one is what ``--amp``
    uses without CUDA: bfloat16 autocast on the CPU. bfloat16 has float32's
    exponent range, so no loss scaling is needed. mmstablekd's losses compute
    in float32 inside the autocast region.

    Args:
        dtype (str): autocast dtype. Default: ``'bfloat16'``.
        device_type (str): autocast device. Default: ``'cpu'``.
        **kwargs: arguments of ``OptimWrapper``.
    """

    def __init__(self,
                 dtype: str = 'bfloat16',
                 device_type: str = 'cpu',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
