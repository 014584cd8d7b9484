"""Load MMEngine checkpoints with torch's weights-only unpickler.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only
allow-listed types may be rebuilt, so a file cannot run code when loaded.
MMEngine 0.10.7 checkpoints also hold its message hub (``HistoryBuffer``
objects, numpy arrays and scalars), which that loader refuses. Importing this
module allow-lists exactly those types, and replaces MMEngine's local-file
loader with one that keeps ``weights_only=True`` and explains a refusal.
"""
import io
import mmap
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader
from torch import _weights_only_unpickler


SHOWN = 8  # how many names (keys, globals) an error message lists


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
            PyTorch checkpoint, one that holds objects other than tensors
            and MMEngine checkpoint state, or weights that are NaN or inf.
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
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        refused = _unsafe_globals(filename) or re.findall(
            # what _history_buffer_statistic refused
            r'getattr\(.*\)(?= is not allowed in a checkpoint)', str(err))
        if not refused:
            raise _unreadable(filename, err) from None
        raise CheckpointLoadError(
            f'Refused to load {filename}: its pickle loads the global(s) '
            f'{listed(refused)}, which are code, not tensors or MMEngine '
            f'checkpoint state. Loading the file would run that code, so it '
            f'was not unpickled. If the file comes from an environment you '
            f'trust, load it there and re-save the weights as a plain '
            f"state_dict: torch.save({{'state_dict': ckpt['state_dict']}}, "
            f'path); otherwise do not use it.') from None
    except Exception as err:
        # A file that is not a checkpoint reaches the unpickler's internals
        # with arbitrary bytes, which fail in arbitrary ways (IndexError,
        # KeyError, UnicodeDecodeError, RuntimeError, ...).
        raise _unreadable(filename, err) from None
    check_finite(_state_dict(checkpoint), filename)
    return checkpoint


def listed(names: List[str]) -> str:
    """The first :data:`SHOWN` of ``names``, and how many more there are."""
    more = len(names) - SHOWN
    return ', '.join(names[:SHOWN]) + (f' and {more} more' if more > 0
                                       else '')


def _unsafe_globals(filename: str) -> List[str]:
    """The globals (``module.name``) that the pickles of ``filename`` load
    and torch's weights-only unpickler does not allow, in order; [] when it
    holds no pickle that can be read."""
    # the lists torch.serialization.get_unsafe_globals_in_checkpoint reads
    # (which reads only zip files, and no pickle protocol 4 or 5)
    allowed = {*_weights_only_unpickler._get_allowed_globals(),
               *_weights_only_unpickler._get_user_allowed_globals()}
    try:
        if zipfile.is_zipfile(filename):
            with zipfile.ZipFile(filename) as archive:
                found = [
                    name for record in archive.namelist()
                    if record.rsplit('/', 1)[-1] == 'data.pkl'
                    for name in _pickled_globals(
                        io.BytesIO(archive.read(record)))
                ]
        else:  # the legacy format and plain pickles start with pickles
            with open(filename, 'rb') as f, mmap.mmap(
                    f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                found = _pickled_globals(data)
    except Exception:  # a damaged archive: no pickle to read
        return []
    return [name for name in dict.fromkeys(found) if name not in allowed]


def _pickled_globals(stream) -> List[str]:
    """The globals named by the pickles at the start of ``stream``, read by
    disassembling them: nothing is imported or called. Reading stops at the
    first pickle that does not parse to its end (in the legacy format, the
    storages that follow the pickles)."""
    found = []
    while True:
        # STACK_GLOBAL takes module and name from the stack, where they may
        # come from the memo: the values pushed, None where not a string
        names, pushed, memo = [], [], {}
        try:
            for op, arg, _ in pickletools.genops(stream):
                if op.name == 'GLOBAL':  # protocols 0-3: Python 2 names
                    module, name = arg.split(' ', 1)
                    module, name = NAME_MAPPING.get(
                        (module, name), (IMPORT_MAPPING.get(module, module),
                                         name))
                    names.append(f'{module}.{name}')
                elif op.name == 'STACK_GLOBAL' and None not in pushed[-2:]:
                    names.append('.'.join(pushed[-2:]))  # protocols 4-5
                if op.name in ('MEMOIZE', 'PUT', 'BINPUT', 'LONG_BINPUT'):
                    memo[len(memo) if arg is None else arg] = pushed[-1]
                elif op.name in ('GET', 'BINGET', 'LONG_BINGET'):
                    pushed.append(memo.get(arg))
                elif op.name != 'FRAME':
                    pushed.append(
                        arg if op.name.endswith('UNICODE') else None)
        except Exception:
            return found
        found += [n for n in names if all(
            part.isidentifier() for part in n.split('.'))]


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
    state = _state_dict(checkpoint)
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


def check_finite(state, filename: str) -> None:
    """Refuse the weights in ``state`` (a state dict; anything else passes)
    when a dense floating-point tensor holds NaN or inf.

    Raises:
        CheckpointLoadError: naming the file and those tensors.
    """
    if not isinstance(state, dict):
        return
    tensors = {
        k: v
        for k, v in state.items() if isinstance(v, torch.Tensor)
        and v.is_floating_point() and v.layout == torch.strided
    }
    bad = []
    for k, v in tensors.items():
        count = v.numel() - int(torch.isfinite(v).sum())
        if count:
            bad.append(f'{k} ({count} of {v.numel()} values)')
    if bad:
        raise CheckpointLoadError(
            f'Checkpoint {filename} holds NaN or infinite weights in '
            f'{len(bad)} of its {len(tensors)} floating-point tensors: '
            f'{listed(bad)}. It is damaged or was saved by a training run '
            f'that diverged, and no learning rate trains from it: use '
            f'another checkpoint (e.g. an earlier one of that run).')


def _state_dict(checkpoint):
    """``checkpoint['state_dict']``, or the checkpoint itself (a bare state
    dict, or not a dict at all)."""
    return checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
