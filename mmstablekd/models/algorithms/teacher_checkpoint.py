"""Load the teacher's weights, refusing a checkpoint that does not fit it."""
import os.path as osp
import re

from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader
from torch import nn

from mmstablekd.utils.safe_checkpoint import (SHOWN, check_finite,
                                              checkpoint_weights)


def load_teacher_weights(teacher: nn.Module, filename: str) -> None:
    """Load ``filename`` (path or URL) into ``teacher`` on the CPU, strictly.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointLoadError: the file is not a readable checkpoint, holds
            more than tensors and MMEngine checkpoint state, or weights that
            are NaN or inf.
        ValueError: the checkpoint's keys or shapes do not match the teacher
            (the message lists missing, unexpected and mismatched keys).
    """
    if '://' not in filename and not osp.exists(osp.expanduser(filename)):
        raise FileNotFoundError(
            f'teacher_ckpt {filename!r} does not exist. Point teacher_ckpt at '
            f'the teacher\'s weights (a path or URL), e.g. a checkpoint from '
            f'training the teacher config with tools/train.py.')
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = checkpoint_weights(checkpoint, filename)
    # load_from_local checked a local file; MMEngine's loaders read URLs
    check_finite(state, filename)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    expected = teacher.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs teacher '
        f'{tuple(v.shape)}' for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    logger = MMLogger.get_current_instance()
    if missing or unexpected or mismatched:
        for name, keys in (('missing', missing), ('unexpected', unexpected),
                           ('shape mismatch', mismatched)):
            if keys:
                logger.error(f'teacher checkpoint {name} keys: {keys}')
        raise ValueError(
            f'teacher_ckpt {filename!r} does not match the teacher config '
            f'({type(teacher).__name__}): {len(missing)} missing keys '
            f'{missing[:SHOWN]}, {len(unexpected)} unexpected keys '
            f'{unexpected[:SHOWN]}, {len(mismatched)} shape mismatches '
            f'{mismatched[:SHOWN]}. Check that `teacher` is the config the '
            f'checkpoint was trained with (depth, widths, num_classes).')
    teacher.load_state_dict(state)
    logger.info(f'Loaded teacher weights from {filename}')
