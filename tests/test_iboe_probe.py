"""IBOEProbeHook through a real Runner, and the iboe_probe tool's report."""
import copy
import json
import math
import os.path as osp
import statistics
import sys

import pytest
import torch
from mmengine.runner import Runner

from conftest import ROOT, block_of, build_model, make_cls_config

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import iboe_probe  # noqa: E402

from mmstablekd.models.blocks import parameter_blocks  # noqa: E402

FIGURES = {'grad_noise', 'update_cos', 'input_drift'}
# 2 epochs of 6 iterations; probes at iterations 0, 2, ..., 10
PROBE = '''
train_cfg = dict(max_epochs=2)
custom_hooks = [dict(type='mmstablekd.IBOEProbeHook', interval=2,
                     num_batches=3)]
'''
DECOMPOSED = '''
custom_hooks = [
    dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
    dict(type='mmstablekd.RecompositionHook',
         stages=[dict(begin=0, groups={groups})]),
    dict(type='mmstablekd.IBOEProbeHook', interval=2, num_batches=2)]
'''
# a random augmentation: drawing the probe batches consumes random numbers
RANDOM_FLIP = '''
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')]))
'''
# student as wide as the teacher at every boundary: no input adapters, so a
# teacher-fed block receives the teacher's feature itself
SAME_WIDTHS = '''
model = dict(student=dict(backbone=dict(base_channels=16, stem_channels=16),
                          head=dict(in_channels=128)))
'''


def _probe_hook(runner):
    return next(h for h in runner.hooks if type(h).__name__ == 'IBOEProbeHook')


def test_figures_are_finite_per_block_logged_and_dumped(cls_config):
    cfg = cls_config(extra=PROBE)
    runner = Runner.from_cfg(cfg)
    runner.train()
    records = _probe_hook(runner).records
    assert [r['iter'] for r in records] == [0, 2, 4, 6, 8, 10]
    for index, record in enumerate(records):
        assert record['groups'] == [[0, 1, 2, 3]]
        assert len(record['blocks']) == 4
        for block in record['blocks']:
            assert set(block) == FIGURES
            if index == 0:  # no earlier probe to drift from
                assert block['input_drift'] is None
                block = dict(block, input_drift=0.0)
            assert all(math.isfinite(v) for v in block.values())
            assert block['grad_noise'] > 0
            assert -1 <= block['update_cos'] <= 1
            assert block['input_drift'] >= 0
    scalars = runner.message_hub.log_scalars
    assert scalars['train/iboe_b3_grad_noise'].current() == pytest.approx(
        records[-1]['blocks'][3]['grad_noise'])
    assert not any('loss' in key for key in scalars if 'iboe' in key)
    with open(osp.join(cfg.work_dir, 'iboe_probe.json')) as f:
        assert json.load(f)['records'] == records


def test_training_with_the_probe_is_training_without_it(cls_config):
    trained = []
    for extra in ('train_cfg = dict(max_epochs=2)', PROBE):
        runner = Runner.from_cfg(cls_config(extra=RANDOM_FLIP + extra))
        runner.train()
        trained.append(runner)
    without, probed = trained
    assert _probe_hook(probed).records  # the probe did run
    state = without.model.state_dict()
    assert any('running_mean' in k for k in state)
    for key, value in probed.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    momentum = without.optim_wrapper.state_dict()['state']
    for i, value in probed.optim_wrapper.state_dict()['state'].items():
        assert torch.equal(value['momentum_buffer'],
                           momentum[i]['momentum_buffer'])


def test_a_probe_changes_no_weight_buffer_gradient_or_optimizer_state(
        cls_config):
    runner = Runner.from_cfg(cls_config(extra=PROBE))
    runner.train()
    model, hook = runner.model, _probe_hook(runner)
    loss, _ = model.parse_losses(model(**hook._batches[0], mode='loss'))
    loss.backward()  # some .grad to keep
    state = copy.deepcopy(model.state_dict())
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    optimizer = copy.deepcopy(runner.optim_wrapper.state_dict())
    noise, inputs = hook.measure(model)
    assert len(noise) == len(inputs) == 4
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    for name, param in model.named_parameters():
        if name in grads:
            assert torch.equal(param.grad, grads[name]), name
    for i, value in runner.optim_wrapper.state_dict()['state'].items():
        assert torch.equal(value['momentum_buffer'],
                           optimizer['state'][i]['momentum_buffer'])


def test_blocks_fed_by_the_frozen_teacher_do_not_drift(cls_config):
    cfg = cls_config(extra=SAME_WIDTHS + DECOMPOSED.format(
        groups=[[0, 1], [2], [3]]) + 'train_cfg = dict(max_epochs=2)')
    runner = Runner.from_cfg(cfg)
    assert len(runner.model.alignments.by_boundary) == 0
    runner.train()
    records = _probe_hook(runner).records[1:]
    assert len(records) == 5
    for record in records:
        drift = [block['input_drift'] for block in record['blocks']]
        # block 0: the image; blocks 2 and 3: the teacher's features;
        # block 1: the student's own layer1 output, which trains
        assert drift[0] == drift[2] == drift[3] == 0.0
        assert drift[1] > 1e-4


def test_parameter_blocks_follow_the_probed_plan(cls_config):
    model = build_model(cls_config())
    blocks = parameter_blocks(model.student, model.student_plan)
    assert blocks == {name: block_of(name)
                      for name, _ in model.student.named_parameters()}


def test_tool_compares_kd_and_stablekd_in_a_table_and_a_plot(
        tmp_path, image_folder):
    schedule = '''
train_cfg = dict(max_epochs=2)
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=1, groups=[[0, 1, 2, 3]])])]
'''
    runs = {}
    for name, extra in (('kd', 'train_cfg = dict(max_epochs=2)'),
                        ('stablekd', schedule)):
        (tmp_path / name).mkdir()
        cfg = make_cls_config(tmp_path / name, image_folder, extra=extra)
        runs[name] = iboe_probe.probe_run(
            cfg.filename, str(tmp_path / name / 'work_dir'), interval=2,
            num_batches=2)
    # both runs probed at the same iterations
    assert [r['iter'] for r in runs['kd']['records']] == \
        [r['iter'] for r in runs['stablekd']['records']] == [0, 2, 4, 6, 8, 10]
    table = iboe_probe.markdown(runs['kd'], runs['stablekd'])
    rows = [row.split(' | ') for row in table.splitlines()[2:]]
    assert len(rows) == 2 * 4  # two StableKD stages x four blocks
    assert rows[0][:2] == ['| [[0], [1], [2], [3]] (0-4)', '0']
    assert rows[4][:2] == ['| [[0, 1, 2, 3]] (6-10)', '0']
    # per figure: KD / StableKD, and whether StableKD is on the side the
    # claim predicts; block 0 is fed the image, which does not drift
    assert all(len(row) == 5 and all(' / ' in cell for cell in row[2:])
               for row in rows)
    assert rows[0][4] == '0 / 0 |'
    assert iboe_probe.summary(runs['kd'], runs['stablekd'])[1, 3][
        'grad_noise'] == tuple(
            statistics.median(r['blocks'][3]['grad_noise']
                              for r in run['records'] if r['iter'] >= 6)
            for run in (runs['kd'], runs['stablekd']))
    png = tmp_path / 'iboe.png'
    iboe_probe.plot(runs['kd'], runs['stablekd'], str(png))
    assert png.stat().st_size > 10_000
