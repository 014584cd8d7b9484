"""mmstablekd: StableKD block-wise knowledge distillation for OpenMMLab."""
from . import utils  # noqa: F401  (safe checkpoint loading, on import)
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
