"""``benchmarks/kd_grid.py`` (the classification grid) at a tiny size, its
variants and designs, and the digests its runs are kept by
(``benchmarks/runs.py``)."""
import glob
import inspect
import json
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from mmpretrain.structures import DataSample

from benchmark_helpers import DEMO, numbers, run_benchmark, table_rows
from conftest import ROOT, build_model
from mmstablekd.engine.hooks import RecompositionHook
from mmstablekd.engine.optimizers import cap_grad_norm
from mmstablekd.engine.schedulers import StageCyclicLR
from mmstablekd.engine.stages import stage_list, stage_starts

# benchmarks/*.py, on the path once benchmark_helpers is imported
import kd_grid
import runs


@pytest.mark.parametrize('name', ['default', 'rel30', 'rel3', 'mse', 'mse10'])
def test_kd_grid_variants_set_the_feature_loss_they_name(name):
    # a variant's feat_loss replaces the config's (weight 10, relative)
    # rather than merging into it: 'mse' is the plain MSE of weight 1
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    cfg.model.teacher_ckpt = None
    loss = build_model(cfg).feat_loss
    assert (loss.relative, loss.loss_weight) == dict(
        default=(True, 10.), rel30=(True, 30.), rel3=(True, 3.),
        mse=(False, 1.), mse10=(False, 10.))[name]


@pytest.mark.parametrize('name', ['pkdb', 'pkdb-own'])
def test_kd_grid_pkd_variants_replace_the_boundary_loss(name):
    # PKD's loss at the boundaries (weight 10, no relative-MSE keys left
    # over); -own also moves the half-merged groups to their own inputs
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    cfg.model.teacher_ckpt = None
    loss = build_model(cfg).feat_loss
    assert (type(loss).__name__, loss.loss_weight) == ('PKDLoss', 10.)
    assert cfg.recomposition.half.get('own_input', 0) == (
        [0.0, 1.0] if name == 'pkdb-own' else 0)


@pytest.mark.parametrize('name, task, supervised', [
    # stage by stage (decomposed, half-merged, merged): whether the task
    # loss trains, and the boundaries whose feature loss does
    ('default', [True] * 3, [[0, 1, 2], [1], []]),
    ('hints', [True] * 3, [[0, 1, 2], [1], [0, 1, 2]]),
    ('keep-hints', [True] * 3, [[0, 1, 2], [0, 1, 2], [0, 1, 2]]),
    ('logits', [False, False, True], [[0, 1, 2], [1], []])])
def test_kd_grid_variants_train_the_losses_they_name(name, task, supervised):
    # each stage's grouping and losses applied to the built model, as
    # RecompositionHook applies them
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    cfg.model.teacher_ckpt = None
    model = build_model(cfg)
    stages = stage_list(cfg.recomposition, 'test')
    assert [s['name'] for s in stages] == ['decomposed', 'half', 'merged']
    for stage, trains_task, boundaries in zip(stages, task, supervised):
        model.set_groups(stage['groups'])
        model.set_active_losses(stage.get('losses'))
        assert model.grouping.is_active('task') == trains_task, stage
        assert model.grouping.supervised_boundaries() == boundaries, stage


@pytest.mark.parametrize('name, ramps', [
    ('default', [0.0, [0.0, 1.0], 0.0]),
    ('teacher-fed', [0.0, 0.0, 0.0]),
    ('own-early', [[0.0, 0.5], [0.5, 1.0], 0.0])])
def test_kd_grid_variants_feed_the_inputs_they_name(name, ramps):
    # each stage's own_input (the student's share of a fed block's input)
    # as RecompositionHook reads it, and a ramp it accepts
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    stages = stage_list(cfg.recomposition, 'test')
    assert [s.get('own_input', 0.0) for s in stages] == ramps
    RecompositionHook(stages=cfg.recomposition)


@pytest.mark.parametrize('ratio', [0.25, 0.5])
def test_kd_grid_softmax_regression_widens_to_its_teacher(ratio):
    # the narrow grid's students (width 4): the pooled feature (32
    # channels) widened to the teacher's (64 / 128) goes through the
    # teacher's classifier, and the path's KD loss is logged and trains
    # the student and the connector, not the teacher
    cell = dict(kd_grid.cells('narrow')[0], ratio=ratio)
    t_width = round(cell['width'] / ratio)
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict({
        **kd_grid.width_options(cell['width'], 'model.student.'),
        **kd_grid.width_options(t_width, 'model.teacher.'),
        **kd_grid.variant_options('sr', cell)})
    cfg.model.teacher_ckpt = None
    model = build_model(cfg)
    model.set_groups([[0, 1, 2, 3]])
    connector = model.output_paths.connectors['sr'].layers.conv
    assert (connector.in_channels, connector.out_channels) == (
        8 * cell['width'], 8 * t_width)
    inputs = torch.rand(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = model.loss(inputs, samples)
    assert losses['loss_sr'] > 0
    losses['loss_sr'].backward()
    assert connector.weight.grad.abs().sum() > 0
    assert model.student.backbone.layer4[0].conv1.weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize('name, clip', [
    ('default', dict(max_norm=10.0)), ('noclip', None),
    ('clip5', dict(max_norm=5.0)), ('clip3', dict(max_norm=3.0))])
def test_kd_grid_variants_train_with_the_clip_they_name(name, clip):
    # the clip comes from RecompositionHook (its cap at 10) unless the
    # variant turns the cap off or clips tighter in the optim wrapper
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    hook = cfg.custom_hooks[0]
    assert hook.type == 'mmstablekd.RecompositionHook'
    cap = hook.get('clip_grad', inspect.signature(
        RecompositionHook).parameters['clip_grad'].default)
    net = torch.nn.Linear(2, 2)
    wrapper = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1),
                           clip_grad=cfg.optim_wrapper.get('clip_grad'))
    if cap is not None:
        cap_grad_norm(wrapper, cap, 'RecompositionHook')
    assert wrapper.clip_grad_kwargs == clip


@pytest.mark.parametrize('name, peaks', [
    ('cycles', [1.0, 0.5, 0.25]), ('cycles-flat', [1.0, 1.0, 1.0])])
def test_kd_grid_cycle_variants_peak_where_they_say(name, peaks):
    # the variant's StageCyclicLR over the config's own stages (100
    # iterations): each stage starts at the floor and peaks half way
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    scheduler = dict(cfg.param_scheduler)
    assert scheduler.pop('type') == 'mmstablekd.StageCyclicLR'
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    cycles = StageCyclicLR(optimizer, stages=cfg.recomposition, end=100,
                           **scheduler)
    starts = stage_starts([stage['begin'] for stage in stage_list(
        cfg.recomposition, 'test')], 100) + [100]
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        cycles.step()
    assert [lrs[a] for a in starts[:-1]] == pytest.approx([0.01] * 3)
    assert [max(lrs[a:b]) for a, b in zip(starts, starts[1:])] == \
        pytest.approx(peaks, abs=0.01)


def narrow_schedule(variant: str, data: float) -> tuple:
    """The StableKD config of a narrow cell on ``data`` with ``variant``,
    its ``(epochs, iterations per epoch)`` and the iteration at which the
    hook merges the last groups."""
    cell = dict(kd_grid.cells('narrow')[0], data=data)
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.variant_options(variant, cell))
    length = kd_grid.train_length(data, kd_grid.budget(cell))
    merge = stage_starts([s['begin'] for s in stage_list(
        cfg.recomposition, 'test')], length[0] * length[1])[-1]
    return cfg, length, merge


@pytest.mark.parametrize('data', [1.0, 0.2])
def test_kd_grid_merge_warmup_starts_where_the_last_groups_merge(data):
    # the narrow grid's cells: the variant's LinearLR, chained to the
    # config's cosine (stepped per epoch, as the Runner steps it), drops the
    # learning rate to 1% at the iteration the hook merges the last groups
    # and brings it back to the cosine's 10% of training later
    cfg, (epochs, per_epoch), merge = narrow_schedule('merge-warmup', data)
    iters = epochs * per_epoch
    assert cfg.custom_hooks[0].by_epoch is False  # stages in iterations
    cosine, warmup = (dict(s) for s in cfg.param_scheduler)
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    assert (cosine.pop('type'), warmup.pop('type')) == (
        'CosineAnnealingLR', 'LinearLR')
    cosine = CosineAnnealingLR(optimizer, T_max=epochs, end=epochs, **cosine)
    warmup = LinearLR(optimizer, **warmup)
    lrs = []
    for step in range(iters):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        warmup.step()
        if (step + 1) % per_epoch == 0:
            cosine.step()
    plain = [0.5 * (1 + math.cos(math.pi * (step // per_epoch) / epochs))
             for step in range(iters)]
    end = merge + round(0.1 * iters)
    assert lrs[:merge] == pytest.approx(plain[:merge])
    assert lrs[merge] == pytest.approx(0.01 * plain[merge])
    assert lrs[end:] == pytest.approx(plain[end:])
    assert all(a < b for a, b in zip(lrs[merge:end - 1],
                                     plain[merge:end - 1]))


@pytest.mark.parametrize('data', [1.0, 0.2])
def test_kd_grid_merged_cosine_holds_the_rate_until_the_merge(data):
    # the narrow grid's cells: the base rate until the hook merges the last
    # groups, then one cosine to 0 over the end-to-end stage alone
    cfg, (epochs, per_epoch), merge = narrow_schedule('merged-cosine', data)
    iters = epochs * per_epoch
    [cosine] = [dict(s) for s in cfg.param_scheduler]
    assert cosine.pop('type') == 'CosineAnnealingLR'
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    scheduler = CosineAnnealingLR(optimizer, **cosine)
    lrs = []
    for _ in range(iters):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert lrs[:merge + 1] == pytest.approx([1.0] * (merge + 1))
    assert lrs[merge:] == pytest.approx([
        0.5 * (1 + math.cos(math.pi * (step - merge) / (iters - merge)))
        for step in range(merge, iters)])


def test_run_digest_follows_the_config_and_its_options(tmp_path):
    config = tmp_path / 'kd.py'
    config.write_text(f"_base_ = ['{DEMO}/kd_resnet18-w32-w8_digits.py']\n")
    digest = runs.run_digest(str(config), ['model.task_loss_weight=0.1'])
    assert digest == runs.run_digest(str(config),
                                     ['model.task_loss_weight=0.1'])
    assert digest != runs.run_digest(str(config),
                                     ['model.task_loss_weight=0.2'])
    # the same file, changed: another digest (read again once the process
    # forgets the file; a benchmark reads each config once)
    config.write_text(config.read_text() +
                      'optim_wrapper = dict(optimizer=dict(lr=0.2))\n')
    runs._resolved.cache_clear()
    assert digest != runs.run_digest(str(config),
                                     ['model.task_loss_weight=0.1'])


def test_kd_grid_reports_every_method_and_the_composition(tmp_path):
    grid = ['kd_grid.py', '--design', 'issue', '--cells', 1, '--seeds', 0,
            '--variants', 'default', 'mse', '--teacher-epochs', 1,
            '--budgets', 10, 5, '--jobs', 1, '--clutter', 1, '--noise', 8,
            '--work-dir', 'grid', '--out', 'grid.md']
    run_benchmark(tmp_path, *grid)
    report = open(tmp_path / 'grid.md').read()
    assert 'DigitsDataset(clutter=1, noise=8)' in report
    for method in ('StableKD default', 'StableKD mse'):
        cells, held = numbers(table_rows(report, method)[0][:2])
        assert cells == 1 and 0 <= held <= 1
    row = table_rows(report, 'R-34')[0]
    # student alone, KD and the two StableKD runs: top-1 in percent
    assert all(0 <= v <= 100 for v in numbers(
        c.split(' (')[0] for c in row[7:11]))
    assert osp.isfile(tmp_path / 'grid_composition.png')
    # runs from 1-epoch teachers say so in their names (t1ep_): never
    # reused for teachers of another length
    cell = 'clutter1_noise8_t1ep_r34_ratio1_w8_s16_lr0.05_ce1-1_d0.2_i5'
    result = json.load(open(
        tmp_path / 'grid' / cell / 'StableKD_mse' / 'seed0' / 'result.json'))
    # the corrupted set in every split
    assert all(result['options'][f'{split}_dataloader.dataset.clutter'] == 1
               for split in ('train', 'val', 'test'))
    # per test image, right or wrong: the final top-1 exactly
    assert set(result['correct']) <= {'0', '1'}
    assert abs(100. * result['correct'].count('1') / len(result['correct'])
               - result['top1']) < 1e-6
    kd = json.load(open(tmp_path / 'grid' / cell / 'KD' / 'seed0' /
                        'result.json'))
    teacher = json.load(open(
        tmp_path / 'grid' / 'clutter1_noise8_t1ep_teacher_r34_w8_s16' /
        'teacher' / 'seed0' / 'result.json'))
    # the room above KD (one cell, one seed): to 100% and to the teacher;
    # StableKD's top-1 against its teacher's
    to_100, to_teacher = (float(c.split(' (')[0]) for c in
                          table_rows(report, '(room above KD)')[0][3:5])
    assert abs(to_100 - (100. - kd['top1'])) < 0.01
    assert abs(to_teacher - (teacher['top1'] - kd['top1'])) < 0.01
    over_teacher = float(table_rows(report, 'StableKD mse')[0][4])
    assert abs(over_teacher - (result['top1'] - teacher['top1'])) < 0.01
    # ... and over KD by share of the data (the cell trains on a fifth)
    assert table_rows(report, 'StableKD mse')[0][5] == '20%: {:+.2f}'.format(
        result['top1'] - kd['top1'])
    # the paired comparison: the images where the two differ, counted
    variant, seeds, wins, losses, diff, p, fits, teacher_wrong, wrong = \
        table_rows(report, cell)[1]
    assert (variant, seeds) == ('mse', '1')
    pairs = list(zip(result['correct'], kd['correct']))
    assert (int(wins), int(losses)) == (pairs.count(('1', '0')),
                                        pairs.count(('0', '1')))
    assert abs(float(diff) - (result['top1'] - kd['top1'])) < 0.01
    assert 0 <= float(p) <= 1
    # the training KD loss at the end: within what each run logged
    for fit, run in zip(map(float, fits.split(' / ')), (kd, result)):
        logged = [json.loads(line).get('loss_kd') for line in open(
            glob.glob(osp.join(tmp_path, osp.dirname(run['ckpt']), '*',
                               'vis_data', 'scalars.json'))[-1])]
        logged = [v for v in logged if v is not None]
        assert min(logged) - 1e-3 <= fit <= max(logged) + 1e-3
    # each run's test errors, and of them those its teacher makes too
    teacher = teacher['correct']
    assert int(teacher_wrong) == teacher.count('0')
    for counted, run in zip(wrong.split(' / '), (kd, result)):
        mistakes = [i for i, c in enumerate(run['correct']) if c == '0']
        assert counted == '{} ({})'.format(
            len(mistakes), sum(teacher[i] == '0' for i in mistakes))
    probe = result['records']
    # one epoch, validated once, at its end: end to end
    assert probe[-1]['groups'] == [[0, 1, 2, 3]]
    assert {'gap_b0', 'gap_b1', 'gap_b2', 'fed_top1'} <= set(probe[-1])
    # run again: the kept runs are read back, except one whose kept digest
    # is not that of its config and options (as after the config changed)
    stale = tmp_path / 'grid' / cell / 'StableKD_mse' / 'seed0' / \
        'result.json'
    json.dump(dict(result, digest='stale'), open(stale, 'w'))
    kept = glob.glob(str(tmp_path / 'grid' / '**' / 'result.json'),
                     recursive=True)
    before = {path: osp.getmtime(path) for path in kept}
    run_benchmark(tmp_path, *grid)
    assert {path for path in kept
            if osp.getmtime(path) != before[path]} == {str(stale)}
    assert json.load(open(stale))['digest'] == result['digest']


def test_kd_grid_narrow_design_meets_every_pair_of_levels():
    cells = kd_grid.cells('narrow')
    factors = ('depth', 'ratio', 'lr', 'data', 'recipe')
    assert len(cells) == 16 and all(c['width'] == 4 for c in cells)
    assert len({tuple(c[f] for f in factors) for c in cells}) == 16
    for i, first in enumerate(factors):
        for second in factors[i + 1:]:
            pairs = [(c[first], c[second]) for c in cells]
            # two levels each: every one of the 4 pairs in 4 cells
            assert {pairs.count(p) for p in pairs} == {4}, (first, second)


def test_kd_grid_picking_a_variant_per_cell_is_scored_on_held_out_seeds():
    # KD at 90 everywhere; in the first cell 'a' beats 'b' on every seed,
    # in the second 'b' is steady at 96 and 'a' wins only on seed 1
    cells = kd_grid.cells('narrow')[:2]
    top1 = {(0, 'a'): [95] * 3, (0, 'b'): [94] * 3,
            (1, 'a'): [93, 99, 93], (1, 'b'): [96] * 3}
    results = {(kd_grid.cell_name(c), 'KD', s): {'top1': 90.}
               for c in cells for s in range(3)}
    results.update({
        (kd_grid.cell_name(cells[i]), f'StableKD {v}', s): {'top1': x}
        for (i, v), xs in top1.items() for s, x in enumerate(xs)})
    lines = kd_grid.picked_per_cell(
        cells, results, ['a', 'b'], [0, 1, 2]).split('\n')
    # either variant alone +5 over KD; picked per cell on all the seeds:
    # the first cell 'a' (+5), the second 'b' (+6)
    assert lines[2] == '| picked on all the seeds | +5.50 |'
    # on the other seeds the second cell picks 'a' (a tie, seeds 0 and 2
    # held out: +3 each) and 'b' with seed 1 held out (+6)
    assert lines[3] == ('| picked on the other seeds, scored on the one '
                        'left out | +4.50 |')
    assert 'nothing to pick' in kd_grid.picked_per_cell(
        cells[:1], results, ['a'], [0, 1, 2])


def test_kd_grid_plots_the_composition_of_the_first_seed_run(tmp_path):
    # a grid run with --seeds 3 4 has no seed 0 to plot (it failed at the
    # legend, after every run had finished, and wrote no report)
    cell = kd_grid.cells('narrow')[0]
    records = [dict(iter=10, top1=50., fed_top1=60., gap_b2=0.5,
                    groups=[[0], [1], [2], [3]]),
               dict(iter=20, top1=70., fed_top1=70., gap_b2=0.3,
                    groups=[[0, 1, 2, 3]])]
    results = {(kd_grid.cell_name(cell), 'StableKD default', 3): dict(
        records=records)}
    png = tmp_path / 'composition.png'
    kd_grid.diagnosis_plot(results, [cell], ['StableKD default'], 3,
                           str(png))
    assert png.stat().st_size > 0
    # a seed without probed runs: an empty plot, not a failure
    png.unlink()
    kd_grid.diagnosis_plot(results, [cell], ['StableKD default'], 0,
                           str(png))
    assert png.stat().st_size > 0


def test_kd_grid_checks_every_sizes_budgets(tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'kd_grid.py'),
         '--check-budgets', '--budgets', '5', '2', '--jobs', '1',
         '--work-dir', 'grid'], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-4000:]
    rows = {(r[0], r[1]): r[2:] for r in (
        [c.strip() for c in line.strip('|').split('|')]
        for line in out.stdout.splitlines() if line.startswith('| '))
        if r[0].isdigit()}
    assert set(rows) == {(s, d) for s in ('16', '24', '32')
                         for d in ('100%', '20%')}
    for iters, top1 in rows.values():
        assert int(iters) > 0 and 0 <= float(top1) <= 100


def test_kd_grid_regroupings_read_the_top1_on_both_sides():
    # two runs' probes (made up): the change of grouping is found between
    # validations, whatever iteration it falls at; KD has no regrouping
    cell = kd_grid.cells('issue')[0]
    name = kd_grid.cell_name(cell)

    def probe(*points):
        return dict(records=[dict(top1=top1, groups=[[0]] * groups)
                             for groups, top1 in points])

    results = {
        (name, 'StableKD own', 0): probe((4, 10.), (2, 60.), (2, 90.),
                                         (1, 85.)),
        (name, 'StableKD own', 1): probe((4, 20.), (2, 70.), (1, 80.)),
        (name, 'KD', 0): probe((1, 50.), (1, 60.)),
    }
    rows = table_rows(kd_grid.regroupings(results, [cell], ['own']), 'own')
    assert rows == [['4 -> 2 groups', '2', '15.00', '65.00', '+50.00', '0'],
                    ['2 -> 1 groups', '2', '80.00', '82.50', '+2.50', '1']]
