"""Checkpoints load with torch's weights-only unpickler."""
import math
import os
import pickle
import re

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from conftest import UNPICKLED, RunsHarmlessCode
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


# ---------------------------------------------- files that are not checkpoints
HTML = (b'<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>'
        b'<body><h1>Not Found</h1></body></html>\n')
# what an unreadable file's message tells the user to do
FIXES = ('Copy or download it again', 'copy or download the checkpoint '
         'again', 'point to a checkpoint file in it')


@pytest.fixture(scope='module')
def real_checkpoint(tmp_path_factory, image_folder):
    """A checkpoint written by an MMEngine Runner (one epoch of a tiny
    StableKD config): weights, optimizer, message hub, meta."""
    from mmengine.runner import Runner

    from conftest import make_cls_config
    cfg = make_cls_config(tmp_path_factory.mktemp('real_ckpt'), image_folder)
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()
    return os.path.join(cfg.work_dir, 'epoch_1.pth')


def _unreadable_files(folder, real):
    """(name, path) of files that are not readable checkpoints: random
    bytes (plain, after a zip header, after a pickle header) of several
    sizes and seeds, a real checkpoint cut at several points (zip and
    legacy format), an empty file, a directory and an HTML error page."""
    files = []

    def write(name, data):
        path = os.path.join(folder, name)
        with open(path, 'wb') as f:
            f.write(data)
        files.append((name, path))

    for prefix in (b'', b'PK\x03\x04', b'\x80\x02'):
        for size in (1, 7, 64, 512, 4096, 65536):
            for seed in range(3):
                data = np.random.default_rng(seed).bytes(size)
                write(f'random_{prefix.hex()}_{size}_{seed}.pth',
                      prefix + data)
    legacy = os.path.join(folder, 'legacy.pth')
    torch.save(torch.load(real, weights_only=False), legacy,
               _use_new_zipfile_serialization=False)
    for source in (real, legacy):
        data = open(source, 'rb').read()
        for cut in (1, 10, 100, 1000, len(data) // 4, len(data) // 2,
                    len(data) - 100, len(data) - 1):
            write(f'{os.path.basename(source)}_cut{cut}.pth', data[:cut])
    write('empty.pth', b'')
    write('error_page.pth', HTML)
    os.mkdir(os.path.join(folder, 'a_directory.pth'))
    files.append(('directory', os.path.join(folder, 'a_directory.pth')))
    return files


def test_no_unreadable_file_lets_a_low_level_error_escape(
        tmp_path, real_checkpoint):
    from mmstablekd.models.algorithms.teacher_checkpoint import \
        load_teacher_weights
    files = _unreadable_files(str(tmp_path), real_checkpoint)
    assert len(files) == 54 + 16 + 3
    for name, path in files:
        for load in (
                lambda: CheckpointLoader.load_checkpoint(path, 'cpu'),
                lambda: load_teacher_weights(torch.nn.Linear(2, 2), path)):
            with pytest.raises(CheckpointLoadError) as err:
                load()
            message = str(err.value)
            assert path in message, (name, message)
            assert any(fix in message for fix in FIXES), (name, message)
    assert torch.load(real_checkpoint, weights_only=False)['state_dict']


def test_unreadable_files_are_told_apart(tmp_path, real_checkpoint):
    files = dict(_unreadable_files(str(tmp_path), real_checkpoint))
    for name, what in (('empty.pth', 'it is empty (0 bytes)'),
                       ('error_page.pth', 'it is an HTML page'),
                       ('directory', 'is a directory, not a file'),
                       ('epoch_1.pth_cut1000.pth', 'it is truncated')):
        with pytest.raises(CheckpointLoadError, match=re.escape(what)):
            CheckpointLoader.load_checkpoint(files[name], 'cpu')


@pytest.mark.parametrize('save', [
    lambda obj, path: torch.save(obj, path),
    lambda obj, path: torch.save(obj, path, pickle_protocol=4),
    lambda obj, path: torch.save(obj, path,
                                 _use_new_zipfile_serialization=False),
    lambda obj, path: open(path, 'wb').write(pickle.dumps(obj, protocol=0)),
    lambda obj, path: open(path, 'wb').write(pickle.dumps(obj, protocol=2)),
    # pickle.dump's default; torch's weights-only unpickler reads neither
    lambda obj, path: open(path, 'wb').write(pickle.dumps(obj, protocol=4)),
    lambda obj, path: open(path, 'wb').write(pickle.dumps(obj, protocol=5)),
], ids=['zip', 'zip-protocol4', 'legacy', 'pickle0', 'pickle2', 'pickle4',
        'pickle5'])
def test_a_pickle_that_would_run_code_is_refused_in_any_format(
        tmp_path, save):
    from mmstablekd.models.algorithms.teacher_checkpoint import \
        load_teacher_weights
    path = str(tmp_path / 'code.pth')
    save({'state_dict': {'w': torch.ones(1)}, 'meta': RunsHarmlessCode()},
         path)
    data = open(path, 'rb').read()
    for load in (lambda: CheckpointLoader.load_checkpoint(path, 'cpu'),
                 lambda: load_teacher_weights(torch.nn.Linear(2, 2), path)):
        with pytest.raises(CheckpointLoadError) as err:
            load()
        message = str(err.value)
        assert f'Refused to load {path}: its pickle loads the global(s) ' in \
            message
        assert 'conftest.record_unpickling' in message
        assert 'Loading the file would run that code' in message
        assert 're-save the weights as a plain state_dict' in message
        assert 'truncated' not in message
    assert UNPICKLED == [] and open(path, 'rb').read() == data


def test_a_refusal_names_each_global_once_in_the_order_they_load(tmp_path):
    path = str(tmp_path / 'code.pth')
    # functions pickle by name: unpickling would look them up, not call them
    functions = [math.sqrt, math.floor, math.ceil, math.exp, math.log,
                 math.sin, math.cos, math.tan, math.atan, math.fabs]
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': [RunsHarmlessCode(), *functions, RunsHarmlessCode()]},
               path)
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(path, 'cpu')
    assert ('loads the global(s) conftest.record_unpickling, math.sqrt, '
            'math.floor, math.ceil, math.exp, math.log, math.sin, math.cos '
            'and 3 more, which are code') in str(err.value)
    assert UNPICKLED == []


@pytest.mark.parametrize('content, got', [
    (torch.ones(3), 'a Tensor'),
    ([1, 2], 'a list'),
    ({'state_dict': {}}, 'no weights'),
    ({'state_dict': {'weight': 1.0, 'bias': torch.ones(2)}},
     "1 entries that are not tensors ({'weight': 'float'})"),
])
def test_a_teacher_checkpoint_that_holds_no_weights_is_an_error(
        tmp_path, content, got):
    from mmstablekd.models.algorithms.teacher_checkpoint import \
        load_teacher_weights
    path = str(tmp_path / 'odd.pth')
    torch.save(content, path)
    with pytest.raises(CheckpointLoadError) as err:
        load_teacher_weights(torch.nn.Linear(2, 2), path)
    assert f'{path} is not a model checkpoint' in str(err.value)
    assert got in str(err.value)


# ------------------------------------------------------- non-finite weights
def test_weights_that_are_nan_or_inf_are_refused_naming_them(tmp_path):
    state = {f'layer{i}.weight': torch.ones(2, 3) for i in range(12)}
    for i in range(10):  # float16 and bfloat16 too
        state[f'layer{i}.weight'][0, :i % 3 + 1] = float(
            ('nan', 'inf', '-inf')[i % 3])
    state['layer0.weight'] = state['layer0.weight'].half()
    state['layer1.weight'] = state['layer1.weight'].bfloat16()
    state['bn.num_batches_tracked'] = torch.tensor(3)  # not weights
    path = str(tmp_path / 'diverged.pth')
    torch.save({'state_dict': state, 'meta': {'epoch': 3}}, path)
    data = open(path, 'rb').read()
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(path, 'cpu')
    assert str(err.value) == (
        f'Checkpoint {path} holds NaN or infinite weights in 10 of its 12 '
        'floating-point tensors: layer0.weight (1 of 6 values), '
        'layer1.weight (2 of 6 values), layer2.weight (3 of 6 values), '
        'layer3.weight (1 of 6 values), layer4.weight (2 of 6 values), '
        'layer5.weight (3 of 6 values), layer6.weight (1 of 6 values), '
        'layer7.weight (2 of 6 values) and 2 more. It is damaged or was '
        'saved by a training run that diverged, and no learning rate trains '
        'from it: use another checkpoint (e.g. an earlier one of that run).')
    assert open(path, 'rb').read() == data
