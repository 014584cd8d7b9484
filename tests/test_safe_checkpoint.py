"""Checkpoints load with torch's weights-only unpickler."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from mmstablekd.utils import CheckpointLoadError


class RunsCode:

    def __reduce__(self):
        return (os.system, ('touch pwned',))


def test_message_hub_state_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('safe-ckpt-test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/lr', np.float64(0.1))
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': hub.state_dict(),
                'meta': {'seed': np.int64(3), 'arr': np.arange(3)}}, path)
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert buffer.mean() == 1.5 and ckpt['meta']['seed'] == 3


def test_checkpoint_with_an_arbitrary_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': RunsCode()}, str(path))
    os.chdir(tmp_path)
    with pytest.raises(CheckpointLoadError, match='Refused to load'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not (tmp_path / 'pwned').exists()


def test_getattr_beyond_history_buffer_statistics_is_refused(tmp_path):

    class GetattrAttack:

        def __reduce__(self):
            # a first step towards __globals__ and from there to anything
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrAttack()}, str(path), pickle_module=pickle)
    with pytest.raises(CheckpointLoadError, match='Refused to load'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
