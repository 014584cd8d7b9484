"""Every shipped config parses and builds its model (teacher weights are not
downloaded here: teacher_ckpt is set to None)."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS, MODELS, PARAM_SCHEDULERS, DefaultScope

from conftest import ROOT, build_model
from mmstablekd.engine.stages import hand_over_stages, stage_starts
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
TEACHER_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'teachers', '*.py')))
# configs with a schedule of groupings or losses
SCHEDULED = ('stablekd', 'indistill')


def _ids(path):
    return osp.relpath(path, ROOT)


def _stage_readers(cfg):
    """The config's RecompositionHook and StageCyclicLR, as the config's
    runner builds them (the top-level stages handed over)."""
    hand_over_stages(cfg)
    hooks = [HOOKS.build(h) for h in cfg.get('custom_hooks', [])
             if h['type'] == 'mmstablekd.RecompositionHook']
    cycles = [dict(s) for s in cfg.get('param_scheduler') or []
              if isinstance(s, dict) and
              s['type'] == 'mmstablekd.StageCyclicLR']
    return hooks, cycles


@pytest.mark.parametrize('path', DISTILL_CONFIGS, ids=_ids)
def test_distillation_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmstablekd']
    cfg.model.teacher_ckpt = None
    model = build_model(cfg)
    # classifiers: 3 stages + the rest, or (the authors' cut) 4 stages +
    # the head; detectors: 4 stages + neck and head
    assert model.num_blocks in ((5, ) if is_detector(model.student) else
                                (4, 5))
    hooks, cycles = _stage_readers(cfg)
    # twins: KD configs have no schedule, StableKD configs have one
    assert bool(hooks) == any(s in osp.basename(path) for s in SCHEDULED)
    if not hooks:  # a model that never leaves end to end carries no
        # trainable part it would not use (alignment='auto' builds only
        # parameter-free alignments)
        assert not list(model.alignments.parameters())
    for hook in hooks:
        for index in range(len(hook.stages)):
            hook._stage(model, index)  # groups and losses fit the model
        # dist_train.sh works: a schedule that leaves parameters unused
        # declares find_unused_parameters for MMEngine's DDP
        if not (cfg.get('model_wrapper_cfg') or {}).get(
                'find_unused_parameters'):
            hook._check_all_parameters_used(model)
    for cycle in cycles:  # the learning-rate cycles follow the same stages
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        scheduler = PARAM_SCHEDULERS.build(
            dict(cycle, end=cfg.train_cfg.max_epochs),
            default_args=dict(optimizer=optimizer, epoch_length=10))
        assert scheduler.starts[:-1] == [
            10 * b for b in stage_starts(hooks[0].begins,
                                         cfg.train_cfg.max_epochs)]


@pytest.mark.parametrize('path', TEACHER_CONFIGS, ids=_ids)
def test_teacher_config_builds(path):
    cfg = Config.fromfile(path)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    assert model.head.num_classes == cfg.data_preprocessor.num_classes


def _twins():
    """(StableKD config, its KD twin) for every shipped pair."""
    shipped = glob.glob(osp.join(ROOT, 'configs', 'stablekd', '*',
                                 'stablekd_*.py'))
    pairs = [(p, osp.join(ROOT, 'configs', 'kd', osp.basename(p).replace(
        'stablekd_', 'kd_'))) for p in shipped]
    pairs += [(p, p.replace('stablekd_', 'kd_')) for p in glob.glob(
        osp.join(ROOT, 'configs', 'demo', 'stablekd_*.py'))
        if osp.exists(p.replace('stablekd_', 'kd_'))]
    # StableKD with the CrossKD-style path: that baseline is the twin
    for folder, twins in (('stablekd/mmdet', 'kd'), ('demo', 'demo')):
        pairs += [(p, osp.join(ROOT, 'configs', twins, osp.basename(p)[
            len('stablekd-'):])) for p in glob.glob(osp.join(
                ROOT, 'configs', folder, 'stablekd-crosskd*.py'))]
    return sorted(pairs)


@pytest.mark.parametrize('path,twin', _twins(),
                         ids=lambda p: osp.basename(p))
def test_a_stablekd_config_is_its_kd_twin_plus_the_recomposition(path, twin):
    ours = Config.fromfile(path).to_dict()
    theirs = Config.fromfile(twin).to_dict()
    recomposition = ours.pop('recomposition')
    assert ours.pop('custom_hooks') and recomposition
    assert 'custom_hooks' not in theirs and 'recomposition' not in theirs
    # the authors' recipe: one learning-rate cycle per stage instead
    # of the KD baseline's one
    authors = ours.pop('stage_cycles', None)
    if authors:
        assert ours.pop('param_scheduler') != theirs.pop('param_scheduler')
    # the shipped bases move the half-merged groups to their own inputs;
    # the authors' feeds them the teacher's feature throughout
    assert recomposition['half'].get('own_input', 0) == (
        0 if authors else [0.0, 1.0]), path
    # the classification pairs weight the relative feature loss 10, not
    # the model's 30 (RecompositionHook caps the gradient norm for all)
    loss = ours['model'].pop('feat_loss', None)
    if loss != theirs['model'].pop('feat_loss', None):
        assert loss == dict(type='FeatureMSELoss', relative=True,
                            loss_weight=10.), path
    # boundaries and alignment: the model's defaults, or the KD twin's own
    assert ours == theirs, path


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


def test_cluttered_digits_are_the_same_images_corrupted_the_same_way():
    clean = DigitsDataset(split='test', size=16)
    hard = DigitsDataset(split='test', size=16, clutter=2, noise=32.)
    again = DigitsDataset(split='test', size=16, clutter=2, noise=32.)
    assert len(hard) == len(clean)
    for i in (0, 5, 359):
        a, b = hard.get_data_info(i), clean.get_data_info(i)
        assert a['gt_label'] == b['gt_label']
        assert a['img'].shape == b['img'].shape == (16, 16, 3)
        assert (a['img'] == again.get_data_info(i)['img']).all()
        # the digit stays where it was (clutter only adds, at half
        # intensity), and the image is no longer the clean one
        diff = a['img'].astype(int) - b['img'].astype(int)
        assert abs(diff).mean() > 10
        assert np.corrcoef(a['img'].ravel(), b['img'].ravel())[0, 1] > 0.3
    quiet = DigitsDataset(split='test', size=16, clutter=1)
    added = (quiet.get_data_info(0)['img'].astype(int) -
             clean.get_data_info(0)['img'].astype(int))
    assert added.min() >= 0 and added.max() > 0 and added.max() <= 128


def test_configs_and_tools_ship_inside_the_package():
    import mmstablekd
    mim = osp.join(osp.dirname(mmstablekd.__file__), '.mim')
    for rel in ('configs/demo/stablekd_resnet18-w32-w8_digits.py',
                'configs/kd/kd_resnet50-resnet18_cifar100.py',
                'tools/train.py', 'tools/dist_train.sh'):
        assert osp.isfile(osp.join(mim, rel)), rel
