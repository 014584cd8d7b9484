from .stage_cyclic_lr import StageCyclicLR

__all__ = ['StageCyclicLR']
