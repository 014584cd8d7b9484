"""The companion methods through a real Runner: curricula of losses (also
across a resume), learned path weights, and every new demo config (also the
transformer-teacher one)."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS

from conftest import ROOT
from mmstablekd.engine.stages import hand_over_stages, stage_list


class LossLog(Hook):
    """Per training iteration: the iteration, the grouping, the optimised
    loss keys, the logged path weights and the learned weights before the
    update."""
    priority = 'LOWEST'

    def __init__(self):
        self.seen, self.weights, self.log_weights = [], [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        agg = runner.model.loss_aggregator
        if agg is not None:
            self.log_weights.append(
                {k: v.item() for k, v in agg.log_weights.items()})

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.seen.append((runner.iter, runner.model.groups,
                          sorted(k for k in outputs if k.startswith('loss_'))))
        self.weights.append(
            {k: v.item() for k, v in outputs.items()
             if k.startswith('weight_')})


def _runner(cfg):
    # as tools/train.py builds it: a shipped config's PortableRunner hands
    # its recomposition stages to the RecompositionHook
    runner = RUNNERS.build(cfg)
    log = LossLog()
    runner.register_hook(log)
    return runner, log


ITERS = '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={n},
                 val_interval=1000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4))
'''
CURRICULUM = ITERS.format(n=6) + '''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, losses=['feat_b0']),
                             dict(begin=2, losses=['feat_b2']),
                             dict(begin=3, losses=['task', 'kd'])])]
'''


def test_curriculum_trains_one_loss_at_a_time_and_resumes_in_its_stage(
        cls_config):
    cfg = cls_config(extra=CURRICULUM)
    runner, log = _runner(cfg)
    runner.train()
    assert [losses for _, _, losses in log.seen] == [
        ['loss_feat_b0'], ['loss_feat_b0'], ['loss_feat_b2'],
        ['loss_ce', 'loss_kd'], ['loss_ce', 'loss_kd'], ['loss_ce', 'loss_kd']
    ]
    logs = open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]).read()
    assert "iter 2 starts stage 1, groups [[0, 1, 2, 3]], losses " \
           "['feat_b2']" in logs
    # the log shows the losses of the current stage only
    line = next(ln for ln in logs.splitlines() if '[4/6]' in ln)
    assert 'loss_ce' in line and 'loss_feat' not in line

    # back to iteration 2 (the feat_b2 stage) from a fresh runner
    cfg = cls_config(extra=CURRICULUM.replace('interval=4', 'interval=2'))
    runner, _ = _runner(cfg)
    runner.train()
    cfg = cls_config(extra=CURRICULUM.replace('interval=4', 'interval=2'))
    cfg.resume, cfg.load_from = True, osp.join(cfg.work_dir, 'iter_2.pth')
    runner, log = _runner(cfg)
    runner.train()
    assert [(i, losses) for i, _, losses in log.seen] == [
        (2, ['loss_feat_b2']), (3, ['loss_ce', 'loss_kd']),
        (4, ['loss_ce', 'loss_kd']), (5, ['loss_ce', 'loss_kd'])
    ]


class StateAtStart(Hook):

    def before_train(self, runner):
        self.state = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }
        self.optimizer = copy.deepcopy(runner.optim_wrapper.state_dict())


ADAPTIVE = ITERS.format(n=8) + '''
model = dict(loss_aggregator=dict(type='AdaptiveLossAggregator',
                                  layer_wise=True))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'loss_aggregator': dict(decay_mult=0.)}))
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=3, groups=[[0, 1], [2, 3]])])]
'''


def test_learned_path_weights_move_and_are_logged_as_exp_minus_s(
        cls_config):
    cfg = cls_config(extra=ADAPTIVE)
    runner, log = _runner(cfg)
    runner.train()
    # every iteration logs exp(-s_i) of the weights it used
    for before, logged in zip(log.log_weights, log.weights):
        assert logged and set(logged) <= {f'weight_{k}' for k in before}
        for key, value in logged.items():
            assert value == pytest.approx(
                torch.exp(-torch.tensor(before[key[7:]])).item(), rel=1e-6)
    # decomposed: all boundaries; half-merged: only boundary 1 ends a group
    assert set(log.weights[0]) == {'weight_feat_b0', 'weight_feat_b1',
                                   'weight_feat_b2', 'weight_kd'}
    assert set(log.weights[3]) == {'weight_feat_b1', 'weight_kd'}
    final = runner.model.loss_aggregator.log_weights
    assert all(abs(final[k].item()) > 1e-4 for k in final)
    # trained by the optimizer, without weight decay
    group = next(g for g in runner.optim_wrapper.param_groups
                 if any(p is final['kd'] for p in g['params']))
    assert group['weight_decay'] == 0


class Interrupt(Hook):
    """Stops the run (as a kill would) once iteration ``at`` is done and its
    checkpoint is written."""
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt


RESUMABLE = ADAPTIVE.replace("""layer_wise=True))""", """layer_wise=True),
             output_losses=dict(icd=dict(
                 student='neck', teacher='neck',
                 loss=dict(type='ICDLoss', student_channels=64,
                           teacher_channels=128))))""")


def test_run_interrupted_after_a_grouping_change_resumes_where_it_stopped(
        cls_config, tmp_path):
    """Stopped after iteration 4 (the first of the half-merged stage),
    resumed from its last checkpoint: same grouping, counter, optimizer and
    loss-module state (learned weights, ICD heads), and the same result as
    a run that was never stopped."""
    cfg = cls_config(extra=RESUMABLE)
    cfg.work_dir = str(tmp_path / 'whole')
    runner, _ = _runner(cfg)
    runner.train()
    uninterrupted = runner.model.state_dict()

    cfg = cls_config(extra=RESUMABLE)
    cfg.work_dir = str(tmp_path / 'stopped')
    runner, _ = _runner(cfg)
    runner.register_hook(Interrupt(at=4))
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    assert runner.model.groups == ((0, 1), (2, 3))

    cfg = cls_config(extra=RESUMABLE)
    cfg.work_dir, cfg.resume = str(tmp_path / 'stopped'), True
    runner, log = _runner(cfg)
    start = StateAtStart()
    runner.register_hook(start)
    runner.train()
    saved = torch.load(osp.join(cfg.work_dir, 'iter_4.pth'),
                       weights_only=True)
    assert {'loss_aggregator.log_weights.icd',
            'output_paths.losses.icd.logit_scale'} <= set(saved['state_dict'])
    for k, v in saved['state_dict'].items():
        torch.testing.assert_close(start.state[k], v)
    for i, state in saved['optimizer']['state'].items():
        torch.testing.assert_close(start.optimizer['state'][i], state)
    assert [(i, g) for i, g, _ in log.seen] == [
        (i, ((0, 1), (2, 3))) for i in range(4, 8)]
    for k, v in runner.model.state_dict().items():
        torch.testing.assert_close(v, uninterrupted[k], msg=k)


DEMO_CONFIGS = [
    osp.join(ROOT, 'configs', 'demo', name) for name in (
        'icd-kd_resnet18-w32-w8_digits.py',
        'indistill_resnet18-w32-w8_digits.py',
        'multipath-adaptive_resnet18-w32-w8_digits.py',
        'stablekd-adaptive_resnet18-w32-w8_digits.py',
        # a transformer teacher: ViT tokens fed to a CNN student
        'stablekd_vit-tiny-resnet18-w8_digits.py')
]


@pytest.mark.parametrize('path', DEMO_CONFIGS, ids=osp.basename)
def test_companion_demo_config_trains_through_every_stage(path, tmp_path):
    cfg = Config.fromfile(path)
    cfg.model.teacher_ckpt = None
    cfg.work_dir = str(tmp_path)
    hand_over_stages(cfg)  # the top-level recomposition, if declared
    stages = [s for h in cfg.get('custom_hooks', []) if 'stages' in h
              for s in stage_list(h['stages'], h['type'])]
    begins = [s['begin'] for s in stages]
    # past the last stage's begin (shares of training: 2, 4 of 10)
    iters = 10 if any(isinstance(b, float) for b in begins) else \
        max(begins, default=0) + 2
    cfg.merge_from_dict(dict(
        train_cfg=dict(_delete_=True, type='IterBasedTrainLoop',
                       max_iters=iters, val_interval=iters),
        param_scheduler=[],
        train_dataloader=dict(batch_size=8),
        default_hooks=dict(checkpoint=dict(by_epoch=False, interval=1000))))
    runner, log = _runner(cfg)
    runner.train()
    assert len(log.seen) == iters
    for _, _, losses in log.seen:
        assert losses
    if osp.basename(path).startswith('stablekd_'):  # decomposed, then e2e
        assert {f'loss_feat_b{j}' for j in range(3)} <= set(log.seen[0][2])
        assert log.seen[-1][1] == ((0, 1, 2, 3), )
    if osp.basename(path).startswith('stablekd'):
        # the gradients' norm clipped at 10 by MMEngine's OptimWrapper (as
        # the digits StableKD config they inherit says), which logs it
        assert runner.optim_wrapper.clip_grad_kwargs == dict(max_norm=10.0)
        # ... and the relative feature loss weighted 10
        assert (runner.model.feat_loss.relative,
                runner.model.feat_loss.loss_weight) == (True, 10.0)
        assert runner.message_hub.get_scalar('train/grad_norm').current() > 0
    params = dict(runner.model.named_parameters())
    assert all(torch.isfinite(p).all() for p in params.values())
    # evaluated at the end: top-1, or retrieval mAP for InDistill
    metric = 'retrieval/mAP_cosine' if 'indistill' in path else \
        'accuracy/top1'
    assert 0 <= runner.message_hub.get_scalar(f'val/{metric}').current() \
        <= 100
