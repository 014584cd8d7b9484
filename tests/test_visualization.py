"""Logging to TensorBoard through MMEngine's vis_backends, with the one
config line the README shows, on the digits and the shapes demo configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
# requirements/tests.txt installs tensorboard
from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

from conftest import ROOT, build_model, write_config
from mmstablekd.datasets.shapes import make_shapes_coco

# the line a config adds (README, "Training, testing, many GPUs")
TENSORBOARD = '''
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='TensorboardVisBackend')])
'''
CASES = {
    'digits': ('kd_resnet18-w32-w8_digits.py',
               'resnet18-w32_digits_teacher.py', 'loss_kd', '''
model = dict(teacher_ckpt='teacher.pth')
train_dataloader = dict(batch_size=4, dataset=dict(indices=8))
val_dataloader = dict(dataset=dict(indices=4))
test_dataloader = val_dataloader
'''),
    'shapes': ('kd_retinanet_r18-w32-w16_shapes.py',
               'retinanet_r18-w32_shapes_teacher.py', 'loss_neck', '''
train_dataloader = dict(batch_size=2)
model = dict(teacher_ckpt='teacher.pth',
             student=dict(test_cfg=dict(score_thr=0.0)))
'''),
}


@pytest.mark.parametrize('name', list(CASES))
def test_tensorboard_backend_writes_the_losses(tmp_path, monkeypatch, name):
    config, teacher, loss, small = CASES[name]
    monkeypatch.chdir(tmp_path)  # the shapes configs read data/shapes/
    if name == 'shapes':
        for split, seed in (('train', 0), ('val', 1)):
            make_shapes_coco('data/shapes', split, 4, seed=seed)
    teacher_model = build_model(
        Config.fromfile(osp.join(ROOT, 'configs', 'demo', teacher)))
    torch.save({'state_dict': teacher_model.state_dict()}, 'teacher.pth')
    path = write_config(tmp_path, f'''
_base_ = [{osp.join(ROOT, 'configs', 'demo', config)!r}]
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
''' + small + TENSORBOARD)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work_dir')
    # MMDetection's runtime names its visualizer 'visualizer', and MMEngine
    # keeps one instance per name and process: an earlier test's Runner
    # (one run per process is what train.py does) would be reused
    cfg.visualizer.name = f'{name}_{tmp_path.name}'
    Runner.from_cfg(cfg).train()

    events = glob.glob(osp.join(cfg.work_dir, '*', 'vis_data',
                                'events.out.tfevents.*'))
    assert len(events) == 1
    scalars = EventAccumulator(events[0]).Reload().Tags()['scalars']
    assert {'loss', loss, 'lr'} <= set(scalars)
