"""Every shipped config parses and builds its model (teacher weights are not
downloaded here: teacher_ckpt is set to None)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT, build_model
from mmstablekd.datasets import DigitsDataset
from mmstablekd.models.blocks.detection import is_detector

DISTILL_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'kd', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'stablekd', '*', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '*kd*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '*indistill*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '*multipath*.py')) + [
        path for method in ('icd', 'indistill', 'adaptive')
        for path in glob.glob(osp.join(ROOT, 'configs', method, '*.py'))
    ])
# configs with a schedule of groupings or losses
SCHEDULED = ('stablekd', 'indistill')


@pytest.mark.parametrize(
    'path', DISTILL_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_distillation_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmstablekd']
    cfg.model.teacher_ckpt = None
    model = build_model(cfg)
    # classifiers: 3 stages + the rest; detectors: 4 stages + neck and head
    assert model.num_blocks == (5 if is_detector(model.student) else 4)
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h['type'] == 'mmstablekd.RecompositionHook']
    # twins: KD configs have no schedule, StableKD configs have one
    assert bool(hooks) == any(s in osp.basename(path) for s in SCHEDULED)
    for hook in hooks:
        for stage in hook['stages']:
            model.check_groups(
                stage.get('groups', [list(range(model.num_blocks))]))
            model.check_losses(stage.get('losses', ['task']))


def test_kd_and_stablekd_twins_differ_only_by_the_schedule():
    for path in glob.glob(osp.join(ROOT, 'configs', 'stablekd', '*',
                                   '*.py')):
        twin = osp.join(ROOT, 'configs', 'kd',
                        osp.basename(path).replace('stablekd_', 'kd_'))
        ours = Config.fromfile(path).to_dict()
        theirs = Config.fromfile(twin).to_dict()
        assert ours.pop('custom_hooks')
        assert ours == theirs


def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test = DigitsDataset(split='train'), DigitsDataset(split='test')
    assert (len(train), len(test)) == (1437, 360)
    test_labels = [test.get_data_info(i)['gt_label'] for i in range(len(test))]
    assert sorted(set(test_labels)) == list(range(10))
    assert all(test_labels.count(c) in (35, 36, 37) for c in range(10))
    img = train.get_data_info(0)['img']
    assert img.shape == (32, 32, 3) and img.dtype.name == 'uint8'
    train_imgs = {train.get_data_info(i)['img'].tobytes()
                  for i in range(len(train))}
    assert not any(test.get_data_info(i)['img'].tobytes() in train_imgs
                   for i in range(len(test)))
    again = DigitsDataset(split='test')
    assert (again.get_data_info(5)['img'] ==
            test.get_data_info(5)['img']).all()


def test_configs_and_tools_ship_inside_the_package():
    import mmstablekd
    mim = osp.join(osp.dirname(mmstablekd.__file__), '.mim')
    for rel in ('configs/demo/stablekd_resnet18-w32-w8_digits.py',
                'configs/kd/kd_resnet50-resnet18_cifar100.py',
                'tools/train.py', 'tools/dist_train.sh'):
        assert osp.isfile(osp.join(mim, rel)), rel
