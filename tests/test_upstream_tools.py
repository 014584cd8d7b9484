"""Shipped configs run unchanged under MMPretrain's, MMDetection's and
MMSegmentation's own ``tools/train.py``, ``tools/test.py`` and
``dist_train.sh`` (as installed in their ``.mim`` folders) and under
``mim train`` / ``mim test``: a digits, a shapes and a segmentation shapes
demo config, an iteration or two each, on data the test generates."""
import glob
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.utils import get_installed_path

from conftest import ROOT, build_model
from mmstablekd.datasets.shapes import make_shapes_coco
from mmstablekd.datasets.shapes_seg import make_shapes_seg

BIN = osp.dirname(sys.executable)
CASES = {
    'digits': dict(
        package='mmpretrain',
        config='configs/demo/kd_resnet18-w32-w8_digits.py',
        teacher='configs/demo/resnet18-w32_digits_teacher.py',
        # 4 images per split: one iteration (of 2 images per process in
        # the 2-process run)
        options=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
                 'train_dataloader.dataset.indices=4',
                 'val_dataloader.dataset.indices=4',
                 'test_dataloader.dataset.indices=4'],
        loss='loss_kd', metric='accuracy/top1'),
    'shapes': dict(
        package='mmdet',
        config='configs/demo/kd_retinanet_r18-w32-w16_shapes.py',
        teacher='configs/demo/retinanet_r18-w32_shapes_teacher.py',
        # data/shapes/ (the config's data root) holds 2 train and 2 val
        # images; score_thr=0: an untrained detector's boxes still count
        options=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
                 'model.student.test_cfg.score_thr=0.0'],
        loss='loss_neck', metric='coco/bbox_mAP'),
    'shapes_seg': dict(
        package='mmseg',
        config='configs/demo/kd_pspnet_r18-w32-w16-d8_shapes-seg.py',
        teacher='configs/demo/pspnet_r18-w32-d8_shapes-seg_teacher.py',
        # data/shapes_seg/ holds 4 train images (2 a process in the
        # 2-process run: BatchNorm after PSP's 1x1 pooling needs 2) and 2
        # val images
        options=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2'],
        loss='loss_cwd', metric='mIoU'),
}


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, folder, timeout=600, package=ROOT):
    """Run ``cmd`` in ``folder`` as a user would (the venv's ``python`` first
    on PATH, mmstablekd imported from ``package``); returns its output."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'],
               PYTHONPATH=package, OMP_NUM_THREADS='1',
               PORT=str(_free_port()))
    out = subprocess.run(cmd, cwd=folder, env=env, capture_output=True,
                         text=True, timeout=timeout)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'terminate called' not in log
    return log


@pytest.fixture(scope='module', params=list(CASES))
def case(request, tmp_path_factory):
    """A folder with the case's data, a teacher checkpoint, and a first
    training run through the upstream tools/train.py."""
    case = dict(CASES[request.param], name=request.param)
    folder = str(tmp_path_factory.mktemp(request.param))
    if request.param == 'shapes':
        for split, num, seed in (('train', 2, 0), ('val', 2, 1)):
            make_shapes_coco(osp.join(folder, 'data', 'shapes'), split, num,
                             seed=seed)
    if request.param == 'shapes_seg':
        for split, num, seed in (('train', 4, 0), ('val', 2, 1)):
            make_shapes_seg(osp.join(folder, 'data', 'shapes_seg'), split,
                            num, seed=seed)
    teacher = build_model(Config.fromfile(osp.join(ROOT, case['teacher'])))
    torch.save({'state_dict': teacher.state_dict()},
               osp.join(folder, 'teacher.pth'))
    case.update(
        folder=folder, config=osp.join(ROOT, case['config']),
        tools=osp.join(get_installed_path(case['package']), '.mim', 'tools'),
        options=case['options'] + [f'model.teacher_ckpt={folder}/teacher.pth'])
    case['train_log'] = _run(
        [sys.executable, osp.join(case['tools'], 'train.py'), case['config'],
         '--work-dir', 'upstream', '--cfg-options', *case['options']],
        folder)
    return case


def _checkpoint(case, work_dir='upstream'):
    path = osp.join(case['folder'], work_dir, 'epoch_1.pth')
    assert osp.isfile(path)
    return path


def test_upstream_train_script_trains_the_distillation_config(case):
    assert case['loss'] in case['train_log']  # the StableKD model trained
    state = torch.load(_checkpoint(case), weights_only=False)['state_dict']
    assert any(k.startswith('student.') for k in state)


def test_upstream_test_script_evaluates_its_checkpoint(case):
    log = _run([sys.executable, osp.join(case['tools'], 'test.py'),
                case['config'], _checkpoint(case), '--work-dir', 'test',
                '--cfg-options', *case['options']], case['folder'])
    assert case['metric'] in log


def test_upstream_dist_train_runs_two_processes_on_the_cpu(case):
    log = _run(['bash', osp.join(case['tools'], 'dist_train.sh'),
                case['config'], '2', '--work-dir', 'dist', '--cfg-options',
                *case['options']], case['folder'])
    assert 'Distributed training: True' in log
    assert case['loss'] in log
    _checkpoint(case, 'dist')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """This checkout installed as ``pip install`` installs it (a wheel,
    configs and tools copied into ``mmstablekd/.mim``), in a folder of its
    own. mim locates a package through its distribution's location, which
    for an editable install is site-packages, where ``mmstablekd/.mim`` is
    not."""
    source = str(tmp_path_factory.mktemp('source') / 'mmstablekd')
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        '.git', '.venv', '.mim', 'work_dirs', 'data', 'build', 'dist',
        '*.egg-info', '__pycache__', '.pytest_cache'))
    target = str(tmp_path_factory.mktemp('site-packages'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--target', target, source],
                   check=True, capture_output=True, timeout=600)
    return target


def test_mim_train_and_mim_test_run_the_config(case, installed):
    mim = [sys.executable, '-m', 'mim']
    tools = osp.join(installed, 'mmstablekd', '.mim', 'tools')
    log = _run(mim + ['train', 'mmstablekd', case['config'], '--gpus', '0',
                      '--work-dir', 'mim', '--cfg-options', *case['options']],
               case['folder'], package=installed)
    assert osp.join(tools, 'train.py') in log
    log = _run(mim + ['test', 'mmstablekd', case['config'], '--checkpoint',
                      _checkpoint(case, 'mim'), '--work-dir', 'mim_test',
                      '--cfg-options', *case['options']], case['folder'],
               package=installed)
    assert osp.join(tools, 'test.py') in log and case['metric'] in log
    assert glob.glob(osp.join(case['folder'], 'mim', '*', '*.log'))
