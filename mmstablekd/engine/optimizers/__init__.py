from .autocast_optim_wrapper import AutocastOptimWrapper
from .grad_norm_cap import cap_grad_norm, check_grad_norm_cap

__all__ = ['AutocastOptimWrapper', 'cap_grad_norm', 'check_grad_norm_cap']
