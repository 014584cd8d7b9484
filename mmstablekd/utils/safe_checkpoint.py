"""Load MMEngine checkpoints with torch's weights-only unpickler.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only
allow-listed types may be rebuilt, so a file cannot run code when loaded.
MMEngine 0.10.7 checkpoints also hold its message hub (``HistoryBuffer``
objects, numpy arrays and scalars), which that loader refuses. Importing this
module allow-lists exactly those types, and replaces MMEngine's local-file
loader with one that keeps ``weights_only=True`` and explains a refusal.
"""
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader


class CheckpointLoadError(RuntimeError):
    """A checkpoint that is refused as unsafe or cannot be read."""


def _history_buffer_statistic(owner, name):
    """Stands in for ``builtins.getattr`` when unpickling: a HistoryBuffer
    pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    Anything other than those lookups is refused, since a general getattr
    would give a pickle the reach of arbitrary code."""
    if owner is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')


def _numpy_types():
    core = np._core if hasattr(np, '_core') else np.core
    dtype_classes = [
        cls for cls in vars(np.dtypes).values()
        if isinstance(cls, type) and issubclass(cls, np.dtype)
    ]
    return [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray,
            np.dtype] + dtype_classes


MMENGINE_CHECKPOINT_TYPES = [HistoryBuffer, *_numpy_types(),
                             (_history_buffer_statistic, 'builtins.getattr')]
torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_TYPES)


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """MMEngine's loader for local paths, with ``weights_only=True`` and
    errors that say what is wrong with the file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} does not exist.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        refused = [
            line.strip() for line in str(err).splitlines()
            if 'GLOBAL' in line or 'not allowed in a checkpoint' in line
        ]
        if not refused:
            raise _unreadable(filename, err) from None
        raise CheckpointLoadError(
            f'Refused to load {filename}: it holds pickled objects that are '
            f'not tensors or MMEngine checkpoint state ({refused[0]}). Such '
            f'objects could run code when loaded, so they are never '
            f'unpickled. If you created this file and trust it, re-save only '
            f"its weights: torch.save({{'state_dict': "
            f"ckpt['state_dict']}}, path).") from None
    except (RuntimeError, EOFError, OSError) as err:
        raise _unreadable(filename, err) from None


def _unreadable(filename: str, err: Exception) -> CheckpointLoadError:
    reason = ' '.join(str(err).split())[-300:]
    return CheckpointLoadError(
        f'Could not read checkpoint {filename}: it is truncated or not a '
        f'PyTorch checkpoint ({type(err).__name__}: ...{reason}). Copy or '
        f'download it again.')
