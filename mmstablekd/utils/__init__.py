from .launch import setup_launcher
from .safe_checkpoint import CheckpointLoadError, load_from_local

__all__ = ['CheckpointLoadError', 'load_from_local', 'setup_launcher']
