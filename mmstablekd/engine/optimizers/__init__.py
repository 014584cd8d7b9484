from .autocast_optim_wrapper import AutocastOptimWrapper
from .groupwise_clip_optim_wrapper import GroupwiseClipOptimWrapper

__all__ = ['AutocastOptimWrapper', 'GroupwiseClipOptimWrapper']
