"""StageCyclicLR: one learning-rate cycle per recomposition stage, through
a real Runner (18 iterations: 3 epochs of 6)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS

from conftest import write_config

BASE_LR, FLOOR, PEAK = 0.01, 0.003, 10.
SCHEDULE = '''
recomposition = dict(
    decomposed=dict(begin=0, groups=[[0], [1], [2], [3]]),
    half=dict(begin=1 / 3, groups=[[0, 1], [2, 3]]),
    merged=dict(begin=2 / 3, groups=[[0, 1, 2, 3]]))
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook')]
param_scheduler = [dict(type='mmstablekd.StageCyclicLR',
                        convert_to_iter_based={per_iter})]
runner_type = 'mmstablekd.PortableRunner'
'''


class LRLog(Hook):
    """(iteration, learning rate, groups) at every training iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        self.seen.append((runner.iter, lr, runner.model.groups))


def _train(cfg):
    # as tools/train.py builds it: the config's PortableRunner hands the
    # stages to the hook and to the scheduler
    runner = RUNNERS.build(cfg)
    log = LRLog()
    runner.register_hook(log)
    runner.train()
    return log.seen


def test_every_stage_starts_at_the_floor_and_rises_to_a_halving_peak(
        cls_config):
    seen = _train(cls_config(extra=SCHEDULE.format(per_iter=True)))
    lrs = [lr for _, lr, _ in seen]
    starts = [i for i, (_, _, groups) in enumerate(seen)
              if i == 0 or groups != seen[i - 1][2]]
    assert starts == [0, 6, 12]  # the groupings change with the cycles
    for k, start in enumerate(starts):
        cycle = lrs[start:start + 6]
        assert cycle[0] == pytest.approx(BASE_LR * FLOOR)
        assert cycle[1] > cycle[0]
        # half way through the stage: the peak, its height halving
        height = BASE_LR * (PEAK - FLOOR) * 0.5**k
        assert max(cycle) == pytest.approx(BASE_LR * FLOOR + height)
        assert cycle.index(max(cycle)) == 3


def test_epoch_based_cycles_change_once_per_epoch(cls_config):
    seen = _train(cls_config(extra=SCHEDULE.format(per_iter=False) +
                             'train_cfg = dict(max_epochs=6)'))
    lrs = [lr for _, lr, _ in seen]
    # two epochs per stage: the floor, then the (halving) peak, each held
    # for the 6 iterations of its epoch
    floor = BASE_LR * FLOOR
    peaks = [BASE_LR * (FLOOR + (PEAK - FLOOR) * 0.5**k) for k in range(3)]
    per_epoch = [floor, peaks[0], floor, peaks[1], floor, peaks[2]]
    assert lrs == pytest.approx([lr for lr in per_epoch for _ in range(6)])


def test_moving_a_stage_by_name_moves_its_cycle(cls_config, tmp_path):
    # 4 epochs: the stages begin at epochs 0, round(4 / 3) = 1 and
    # round(8 / 3) = 3
    cls_config(extra=SCHEDULE.format(per_iter=True) +
               'train_cfg = dict(max_epochs=4)')
    # a user's derived config moves one stage, by its name
    cfg = Config.fromfile(write_config(tmp_path, """
_base_ = ['./cfg.py']
recomposition = dict(merged=dict(begin=0.5))
""", 'moved.py'))
    cfg.work_dir = str(tmp_path / 'moved')
    seen = _train(cfg)
    floors = [i for i, lr, _ in seen
              if lr == pytest.approx(BASE_LR * FLOOR)]
    assert floors == [0, 6, 12]
    assert seen[11][2] == ((0, 1), (2, 3)) and seen[12][2] == ((0, 1, 2, 3), )
    # the last stage now lasts 12 iterations, its peak half way
    merged = [lr for _, lr, _ in seen[12:]]
    assert merged.index(max(merged)) == 6


def test_a_resumed_run_continues_the_same_curve(cls_config):
    cfg = cls_config(extra=SCHEDULE.format(per_iter=True))
    whole = _train(cfg)

    cfg = cls_config(extra=SCHEDULE.format(per_iter=True))
    cfg.work_dir += '_resumed'
    cfg.resume = True
    cfg.load_from = osp.join(osp.dirname(cfg.work_dir), 'work_dir',
                             'epoch_1.pth')
    resumed = _train(cfg)
    assert [i for i, _, _ in resumed] == list(range(6, 18))
    assert [lr for _, lr, _ in resumed] == pytest.approx(
        [lr for _, lr, _ in whole[6:]])


def test_cycles_that_do_not_follow_the_stages_are_refused(cls_config):
    # the hook counts iterations, the cycles other stages in epochs
    cfg = cls_config(extra=SCHEDULE.format(per_iter=True) + """
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
param_scheduler = [dict(type='mmstablekd.StageCyclicLR',
                        stages=[dict(begin=0), dict(begin=2)],
                        convert_to_iter_based=True)]
""")
    with pytest.raises(ValueError, match=r'StageCyclicLR cycles start at '
                       r'iterations \[0, 12\], but RecompositionHook stages '
                       r'at \[0, 6, 12\]'):
        _train(cfg)
