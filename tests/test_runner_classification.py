"""StableKD through a real MMEngine Runner, from mmpretrain:: configs."""
import copy
import json
import glob
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from conftest import build_model

SCHEDULE = '''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch={by_epoch},
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin={b1}, groups=[[0, 1], [2, 3]]),
                             dict(begin={b2}, groups=[[0, 1, 2, 3]])])]
'''


class GroupsLog(Hook):
    """Records (epoch, iter, groups) at every training iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append((runner.epoch, runner.iter, runner.model.groups))


@pytest.fixture
def teacher_ckpt(cls_config, tmp_path):
    """A teacher checkpoint as MMEngine writes it (state_dict + meta +
    message hub), from the teacher network of the test config."""
    model = build_model(cls_config())
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': model.teacher.state_dict(), 'meta': {}}, path)
    return path


def _runner(cfg):
    runner = Runner.from_cfg(cfg)
    log = GroupsLog()
    runner.register_hook(log)
    return runner, log


E2E, HALF = ((0, 1, 2, 3), ), ((0, 1), (2, 3))
DEC = ((0, ), (1, ), (2, ), (3, ))


def test_hook_switches_groupings_at_epochs_and_runner_trains(
        cls_config, teacher_ckpt):
    cfg = cls_config(teacher_ckpt, extra=SCHEDULE.format(
        by_epoch=True, b1=1, b2=2))
    runner, log = _runner(cfg)
    runner.train()
    by_epoch = {epoch: groups for epoch, _, groups in log.seen}
    assert by_epoch == {0: DEC, 1: HALF, 2: E2E}
    assert len(log.seen) == 3 * 6  # 24 images / batch 4, 3 epochs
    # evaluated and checkpointed every epoch
    assert 'val/accuracy/top1' in runner.message_hub.log_scalars
    optimised = {id(p) for group in runner.optim_wrapper.param_groups
                 for p in group['params']}
    assert not optimised & {id(p) for p in runner.model.teacher.parameters()}
    assert optimised >= {id(p) for p in runner.model.student.parameters()}
    assert sorted(osp.basename(p) for p in glob.glob(
        osp.join(cfg.work_dir, 'epoch_*.pth'))) == [
            'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'
        ]
    logs = open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]).read()
    assert 'epoch 1 starts stage 1, groups [[0, 1], [2, 3]]' in logs
    assert 'loss_feat_b0' in logs and 'loss_kd' in logs and 'loss_ce' in logs
    assert 'accuracy/top1' in logs


def test_hook_switches_by_iteration_and_resume_lands_in_the_right_stage(
        cls_config, teacher_ckpt):
    extra = SCHEDULE.format(by_epoch=False, b1=3, b2=6) + '''
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=8,
                 val_interval=4)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4))
'''
    cfg = cls_config(teacher_ckpt, extra=extra)
    runner, log = _runner(cfg)
    runner.train()
    assert [g for _, _, g in log.seen] == [DEC] * 3 + [HALF] * 3 + [E2E] * 2
    ckpt = osp.join(cfg.work_dir, 'iter_4.pth')
    assert osp.isfile(ckpt)

    # resume at iteration 4, in the half-merged stage, from a fresh runner
    cfg = cls_config(teacher_ckpt, extra=extra)
    cfg.resume, cfg.load_from = True, ckpt
    runner, log = _runner(cfg)
    assert runner.model.groups == E2E  # the default, before training
    runner.train()
    assert [(i, g) for _, i, g in log.seen] == [(4, HALF), (5, HALF),
                                                (6, E2E), (7, E2E)]


class OwnInputLog(Hook):
    """Records the model's ``own_input`` at every training iteration,
    after RecompositionHook set it."""
    priority = 'LOWEST'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(runner.model.own_input)


@pytest.mark.parametrize('by_epoch, b1, b2, half', [
    (False, 3, 6, [0.0, 0.5, 1.0]),  # 3 iterations
    (True, 1, 2, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # an epoch: 6 iterations
])
def test_a_stage_moves_fed_blocks_to_their_own_input(
        cls_config, teacher_ckpt, by_epoch, b1, b2, half):
    extra = SCHEDULE.format(by_epoch=by_epoch, b1=b1, b2=b2).replace(
        'groups=[[0, 1], [2, 3]]',
        'groups=[[0, 1], [2, 3]], own_input=[0, 1]')
    cfg = cls_config(teacher_ckpt, extra=extra)
    runner = Runner.from_cfg(cfg)
    log = OwnInputLog()
    runner.register_hook(log)
    runner.train()
    start = b1 * 6 if by_epoch else b1
    end = b2 * 6 if by_epoch else b2
    assert log.seen[:start] == [0.0] * start  # decomposed: the teacher's
    assert log.seen[start:end] == pytest.approx(half)
    assert set(log.seen[end:]) == {0.0}  # merged: nothing is fed
    scalars = [json.loads(line) for line in open(glob.glob(osp.join(
        cfg.work_dir, '*', 'vis_data', 'scalars.json'))[0])]
    assert any('own_input' in row for row in scalars)


class StateAtStart(Hook):
    """Keeps the model and optimizer state as training (re)starts."""

    def before_train(self, runner):
        self.model = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }
        self.optimizer = copy.deepcopy(runner.optim_wrapper.state_dict())


def test_resume_restores_weights_optimizer_and_epoch(cls_config,
                                                     teacher_ckpt):
    cfg = cls_config(teacher_ckpt, extra=SCHEDULE.format(
        by_epoch=True, b1=1, b2=2))
    runner, _ = _runner(cfg)
    runner.train()

    cfg = cls_config(teacher_ckpt, extra=SCHEDULE.format(
        by_epoch=True, b1=1, b2=2))
    cfg.train_cfg.max_epochs = 4
    cfg.resume, cfg.load_from = True, osp.join(cfg.work_dir, 'epoch_3.pth')
    runner, log = _runner(cfg)
    start = StateAtStart()
    runner.register_hook(start)
    runner.train()
    saved = torch.load(cfg.load_from, weights_only=True)
    for k, v in saved['state_dict'].items():
        torch.testing.assert_close(start.model[k], v)
    momentum = saved['optimizer']['state']
    assert momentum and all(
        torch.equal(start.optimizer['state'][i]['momentum_buffer'],
                    momentum[i]['momentum_buffer']) for i in momentum)
    assert [e for e, _, _ in log.seen] == [3] * 6  # only the 4th epoch ran
    assert all(g == E2E for _, _, g in log.seen)


def test_load_from_evaluates_the_trained_student(cls_config, teacher_ckpt):
    cfg = cls_config(teacher_ckpt)
    cfg.train_cfg.max_epochs = 1
    runner, _ = _runner(cfg)
    runner.train()
    trained = runner.val_loop.run()['accuracy/top1']

    weights = runner.model.student.state_dict()

    cfg = cls_config(teacher_ckpt)
    cfg.load_from = osp.join(cfg.work_dir, 'epoch_1.pth')
    tester = Runner.from_cfg(cfg)
    tested = tester.test()['accuracy/top1']
    assert tested == pytest.approx(trained)
    for k, v in tester.model.student.state_dict().items():
        torch.testing.assert_close(v, weights[k])


class PoisonFeatureLoss(Hook):
    """From the second epoch on, the feature loss returns NaN."""

    def before_train_epoch(self, runner):
        if runner.epoch == 1:
            runner.model.feat_loss.loss_weight = float('nan')


def test_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(
        cls_config, teacher_ckpt):
    cfg = cls_config(teacher_ckpt, extra='''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]])])]
''')
    runner, _ = _runner(cfg)
    runner.register_hook(PoisonFeatureLoss())
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    assert 'loss_feat_b0 = nan (group [0])' in str(err.value)
    assert 'groups [[0], [1], [2], [3]]' in str(err.value)
    ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    assert not osp.exists(osp.join(cfg.work_dir, 'epoch_2.pth'))
    saved = torch.load(ckpt, weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in saved.values()
               if v.is_floating_point())
    # the update that would have used the NaN never happened
    for k, v in runner.model.state_dict().items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), k


def test_stage_begins_given_as_shares_of_training(cls_config, teacher_ckpt):
    cfg = cls_config(teacher_ckpt, extra='''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=0.2, groups=[[0, 1], [2, 3]]),
                             dict(begin=0.4, groups=[[0, 1, 2, 3]])])]
''')
    runner, log = _runner(cfg)
    runner.train()
    # 18 iterations: stages begin at round(3.6) = 4 and round(7.2) = 7
    assert [g for _, _, g in log.seen] == [DEC] * 4 + [HALF] * 3 + [E2E] * 11


STAGES = "['backbone.layer1', 'backbone.layer2', 'backbone.layer3', " \
    "'backbone.layer4']"
HEAD_BLOCK = f'''
model = dict(boundaries=dict(student={STAGES}, teacher={STAGES}))
recomposition = dict(
    decomposed=dict(begin=0, groups=[[0], [1], [2], [3], [4]]),
    half=dict(begin=1, groups=[[0, 1], [2, 3], [4]]),
    merged=dict(begin=2, groups=[[0, 1, 2, 3], [4]]))
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook')]
runner_type = 'mmstablekd.PortableRunner'
'''


def _reached(model, loss):
    """Top-level student modules (``backbone.layer4``, ``head``...) whose
    parameters ``loss`` depends on (a gradient, even if zero: after a few
    iterations a stage's ReLUs may all be off for one batch)."""
    named = [(n, p) for n, p in model.student.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in named],
                                allow_unused=True, retain_graph=True)
    return {'.'.join(n.split('.')[:2 if n.startswith('backbone.') else 1])
            for (n, _), g in zip(named, grads) if g is not None}


def test_the_head_as_its_own_block_learns_from_the_teachers_layer4(
        cls_config, teacher_ckpt):
    # the authors' cut: a boundary at backbone.layer4, whose output the
    # neck (global pooling) receives
    cfg = cls_config(teacher_ckpt, extra=HEAD_BLOCK)
    runner = RUNNERS.build(cfg)  # the PortableRunner hands over the stages
    log = GroupsLog()
    runner.register_hook(log)
    runner.train()
    assert {e: g for e, _, g in log.seen} == {
        0: ((0, ), (1, ), (2, ), (3, ), (4, )),
        1: ((0, 1), (2, 3), (4, )),
        2: ((0, 1, 2, 3), (4, ))}
    logs = open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]).read()
    assert 'epoch 2 starts stage 2 (merged), groups [[0, 1, 2, 3], [4]]' \
        in logs

    model = runner.model.train()
    data = model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    fed = []
    model.student.neck.register_forward_pre_hook(
        lambda m, args: fed.append(args[0][0]))
    losses = model.loss(data['inputs'], data['data_samples'])
    teacher = model._run_teacher(data['inputs'], data['data_samples'],
                                 ['backbone.layer4'])['backbone.layer4']
    # the head block is fed the teacher's last-stage feature (aligned to
    # the student's width), and learns from CE and KL only
    assert torch.equal(fed[0], model.alignments(3, teacher))
    assert _reached(model, losses['loss_ce']) == {'head'}
    assert _reached(model, losses['loss_kd']) == {'head'}
    # the merged body learns the teacher's layer4 feature end to end
    assert _reached(model, losses['loss_feat_b3']) == {
        'backbone.conv1', 'backbone.bn1', 'backbone.layer1',
        'backbone.layer2', 'backbone.layer3', 'backbone.layer4'}


def test_composition_probe_records_every_validation_without_changing_training(
        cls_config, teacher_ckpt):
    """CompositionProbeHook: per validation the grouping, the top-1, each
    boundary's gap and the teacher-fed top-1, in the work dir's json; the
    weights trained with it are the weights trained without it."""
    schedule = SCHEDULE.format(by_epoch=True, b1=1, b2=2)
    probed = cls_config(teacher_ckpt, extra=schedule + '''
custom_hooks.append(dict(type='mmstablekd.CompositionProbeHook'))
''')
    runner = Runner.from_cfg(probed)
    runner.train()
    records = json.load(open(osp.join(probed.work_dir,
                                      'composition_probe.json')))
    assert [r['groups'] for r in records] == [
        [[0], [1], [2], [3]], [[0, 1], [2, 3]], [[0, 1, 2, 3]]]
    for record in records:
        assert {'iter', 'top1', 'gap_b0', 'gap_b1', 'gap_b2',
                'fed_top1'} <= set(record)
        assert all(record[f'gap_b{j}'] >= 0 for j in range(3))
        assert 0 <= record['fed_top1'] <= 100
    plain = cls_config(teacher_ckpt, extra=schedule)
    plain.work_dir += '_plain'
    other = Runner.from_cfg(plain)
    other.train()
    for (name, a), b in zip(runner.model.state_dict().items(),
                            other.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
