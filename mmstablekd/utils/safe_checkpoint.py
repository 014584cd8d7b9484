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
    errors that name the file and say what is wrong with it.

    Raises:
        FileNotFoundError: nothing exists at ``filename``.
        CheckpointLoadError: a directory, a file that is not a readable
            PyTorch checkpoint, or one that holds objects other than
            tensors and MMEngine checkpoint state.
    """
    filename = osp.expanduser(filename)
    if osp.isdir(filename):
        raise CheckpointLoadError(
            f'Checkpoint {filename} is a directory, not a file: point to a '
            f'checkpoint file in it (e.g. {osp.join(filename, "epoch_1.pth")}'
            f').')
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
            f"ckpt['state_dict']}}, path); otherwise copy or download the "
            f'checkpoint again.') from None
    except Exception as err:
        # A file that is not a checkpoint reaches the unpickler's internals
        # with arbitrary bytes, which fail in arbitrary ways (IndexError,
        # KeyError, UnicodeDecodeError, RuntimeError, ...).
        raise _unreadable(filename, err) from None


def _unreadable(filename: str, err: Exception) -> CheckpointLoadError:
    reason = ' '.join(str(err).split())[-300:]
    return CheckpointLoadError(
        f'Could not read checkpoint {filename}: {_looks_like(filename)} '
        f'({type(err).__name__}: ...{reason}). Copy or download it again.')


def _looks_like(filename: str) -> str:
    """What an unreadable file seems to be, from its first bytes."""
    with open(filename, 'rb') as f:
        head = f.read(512)
    if not head:
        return 'it is empty (0 bytes)'
    if b'<html' in head.lower() or head.lstrip().startswith(b'<'):
        return ('it is an HTML page, not a checkpoint (e.g. the error page '
                'of a failed download)')
    return 'it is truncated or not a PyTorch checkpoint'


def checkpoint_weights(checkpoint, filename: str) -> dict:
    """The ``state_dict`` of a loaded checkpoint (or the checkpoint itself
    when it is a bare state dict).

    Raises:
        CheckpointLoadError: it is not a dict of tensors.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    others = {} if not isinstance(state, dict) else {
        k: type(v).__name__
        for k, v in state.items() if not isinstance(v, torch.Tensor)
    }
    if not isinstance(state, dict) or others or not state:
        got = (f'{len(others)} entries that are not tensors '
               f'({dict(list(others.items())[:5])})' if others else
               'no weights' if isinstance(state, dict) else
               f'a {type(state).__name__}')
        raise CheckpointLoadError(
            f'{filename} is not a model checkpoint: its state_dict should '
            f'map parameter names to tensors, but it holds {got}. Point to '
            f'a checkpoint written by MMEngine (tools/train.py) or '
            f'torch.save(model.state_dict()).')
    return state
