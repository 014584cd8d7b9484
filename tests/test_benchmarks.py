"""Every script in ``benchmarks/`` runs from its command line at a tiny size,
so that none rots unnoticed: each is run as a user runs it (a subprocess),
from a tmp dir, with its work dir and report there, and its report is read
back."""
import glob
import inspect
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import OptimWrapper

from conftest import ROOT, build_model
from mmstablekd.engine.hooks import RecompositionHook
from mmstablekd.engine.optimizers import cap_grad_norm
from mmstablekd.engine.stages import stage_list
from mmstablekd.utils import logged_scalars

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import detection_kd  # noqa: E402
import paper_claims  # noqa: E402
import iteration_cost  # noqa: E402
import kd_grid  # noqa: E402
import runs  # noqa: E402

DEMO = osp.join(ROOT, 'configs', 'demo')
# Every training run on a class-balanced 5% of the digits (72 images) in
# batches of 16: 5 iterations an epoch, as many as a StableKD schedule of
# three stages and the IBOE probe's 4 batches need; validated on 60 of the
# test images.
TINY_DATA = [
    '--cfg-options',
    'train_dataloader.sampler.type=mmstablekd.ClassBalancedSubsetSampler',
    'train_dataloader.sampler.fraction=0.05', 'train_dataloader.batch_size=16',
    'val_dataloader.dataset.indices=60'
]


def run_benchmark(cwd, script: str, *args) -> None:
    """Run ``python benchmarks/<script> *args`` from ``cwd`` (relative
    paths land there, never in the repository); fail with the end of its
    output unless it succeeds."""
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script),
         *map(str, args)],
        cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]


def table_rows(report: str, first_cell: str) -> list:
    """The cells after the first of the Markdown table rows of ``report``
    whose first cell is ``first_cell``, in the order they appear."""
    rows = [[c.strip() for c in line.strip().strip('|').split('|')]
            for line in report.splitlines() if line.startswith('|')]
    return [row[1:] for row in rows if row[0] == first_cell]


def numbers(cells) -> list:
    """``cells`` as numbers (a mean ± std cell: its mean)."""
    return [float(c.split(' ± ')[0]) for c in cells]


def test_iteration_cost_reads_the_declared_stages():
    for config in (iteration_cost.DEFAULT_CONFIG,
                   osp.join(DEMO, 'stablekd_resnet18-w32-w8_digits.py')):
        assert iteration_cost.first_groups(Config.fromfile(config)) == \
            [[0], [1], [2], [3]]


def test_iteration_cost_reads_the_stages_a_hook_sets_itself():
    cfg = Config(dict(
        recomposition=dict(decomposed=dict(begin=0, groups=[[0], [1]])),
        custom_hooks=[dict(type='mmstablekd.AlignmentFitHook'), dict(
            type='mmstablekd.RecompositionHook',
            stages=[dict(begin=0, groups=[[0, 1], [2]]), dict(begin=4)])]))
    assert iteration_cost.first_groups(cfg) == [[0, 1], [2]]


def test_iteration_cost_refuses_a_config_without_recomposition():
    with pytest.raises(SystemExit, match='no RecompositionHook'):
        iteration_cost.first_groups(
            Config.fromfile(osp.join(DEMO, 'kd_resnet18-w32-w8_digits.py')))


def test_iteration_cost_reports_both_groupings(tmp_path):
    out = tmp_path / 'cost.md'
    run_benchmark(tmp_path, 'iteration_cost.py', '--config',
                  osp.join(DEMO, 'stablekd_resnet18-w32-w8_digits.py'),
                  '--batch', 2, '--iters', 1, '--out', out)
    report = out.read_text()
    for grouping in ('KD [[0, 1, 2, 3]]', 'StableKD [[0], [1], [2], [3]]'):
        seconds, growth_mib, peak_mib = numbers(
            table_rows(report, grouping)[0])
        assert seconds > 0 and growth_mib >= 0 and peak_mib > 0
    assert 'StableKD / KD: iteration time x' in report


def test_heterogeneous_pairs_reports_every_method(tmp_path):
    run_benchmark(tmp_path, 'heterogeneous_pairs.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--teacher-widths', 16,
                  '--teacher-epochs', 1, '--fractions', 1.0, '--iters', 1,
                  '--alignments', 'pca', '--ablations', *TINY_DATA)
    report = (tmp_path / 'report.md').read_text()
    assert table_rows(report, 'ResNet-18 w16')[0][0] == '0.5'  # the ratio
    for method in ('student alone', 'KD', 'StableKD, pca'):
        assert 0 <= numbers(table_rows(report, method)[0])[0] <= 100


def test_transformer_pairs_reports_every_resize(tmp_path):
    run_benchmark(tmp_path, 'transformer_pairs.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--teacher-epochs', 1,
                  '--iters', 1, '--resizes', 'nearest', *TINY_DATA)
    report = (tmp_path / 'report.md').read_text()
    for method in ('student alone', 'KD', 'StableKD, nearest resize'):
        assert 0 <= numbers(table_rows(report, method)[0])[0] <= 100


def test_recipes_rewrites_only_its_section(tmp_path):
    doc = tmp_path / 'reproduction.md'
    doc.write_text('before\n<!-- digits: begin -->\nold\n'
                   '<!-- digits: end -->\nafter\n')
    # 3 epochs: the authors' recipe changes stage every third of them
    run_benchmark(tmp_path, 'recipes.py', '--work-dir', 'runs', '--out', doc,
                  '--seeds', 0, '--epochs', 3, '--teacher-epochs', 1,
                  *TINY_DATA)
    report = doc.read_text()
    assert report.startswith('before\n<!-- digits: begin -->\n')
    assert report.endswith('<!-- digits: end -->\nafter\n')
    assert 'old' not in report
    for recipe in ('KD', 'StableKD, default recipe',
                   "StableKD, authors' recipe (peak 10x)",
                   "StableKD, authors' recipe (peak 1x)"):
        assert 0 <= numbers(table_rows(report, recipe)[0])[0] <= 100


def test_paper_claims_reports_every_claim(tmp_path):
    run_benchmark(tmp_path, 'paper_claims.py', '--work-dir', 'runs', '--out',
                  'docs/benchmarks.md', '--seeds', 0, '--no-variants',
                  '--teacher-epochs', 1, '--epochs', 1, '--cost-batch', 2,
                  '--cost-iters', 1, *TINY_DATA)
    docs = tmp_path / 'docs'
    report = (docs / 'benchmarks.md').read_text()
    assert 'A quick check, not the benchmark' in report
    for claim in ('higher top-1 than KD at equal budget',
                  'faster convergence',
                  'StableKD on 40% of the data beats KD on 100%',
                  'an iteration costs what a KD iteration costs'):
        assert table_rows(report, claim)[0][2].startswith('**'), claim
    for run in ('student alone', 'KD', 'StableKD', 'KD, 40% data',
                'StableKD, 40% data'):  # top-1 mean ± std
        assert 0 <= numbers(table_rows(report, run)[0][2:3])[0] <= 100
    assert (docs / 'benchmark_accuracy.png').stat().st_size > 0
    assert (docs / 'iboe_probe.png').stat().st_size > 0


@pytest.mark.parametrize('name', list(paper_claims.VARIANTS))
def test_paper_claims_variants_build(name):
    # the tiny run above skips the variants: each must still make a model
    method, options = paper_claims.VARIANTS[name]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                   paper_claims.CONFIG[method]))
    cfg.merge_from_dict(paper_claims.option_dict(options))
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    assert build_model(cfg).training is not None


@pytest.mark.parametrize('name', ['default', 'rel30', 'mse', 'mse10'])
def test_kd_grid_variants_set_the_feature_loss_they_name(name):
    # a variant's feat_loss replaces the config's (weight 10, relative)
    # rather than merging into it: 'mse' is the plain MSE of weight 1
    cfg = Config.fromfile(osp.join(DEMO, kd_grid.CONFIG_FILES['StableKD']))
    cfg.merge_from_dict(kd_grid.VARIANTS[name])
    cfg.model.teacher_ckpt = None
    loss = build_model(cfg).feat_loss
    assert (loss.relative, loss.loss_weight) == dict(
        default=(True, 10.), rel30=(True, 30.), mse=(False, 1.),
        mse10=(False, 10.))[name]


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


@pytest.mark.parametrize('name, clip', [
    ('default', dict(max_norm=10.0)), ('noclip', None),
    ('clip5', dict(max_norm=5.0))])
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


def test_detection_kd_has_a_shipped_config_for_every_method():
    for family in detection_kd.FAMILIES:
        for method in detection_kd.METHODS:
            config = detection_kd.config_of(family, method)
            assert osp.isfile(osp.join(DEMO, config)), (family, method)


def test_detection_kd_reports_its_methods(tmp_path):
    # 4 training and 2 validation images in one batch: an iteration an
    # epoch; 5 epochs, so that StableKD's three stages begin at distinct
    # iterations (0, 2, 3). One method of each kind the script runs: the
    # student alone, a KD baseline, StableKD (with both baselines' paths);
    # every method's config is built in test_configs.py, the baselines'
    # losses trained in test_detection_baselines.py
    methods = {'alone': 'student alone', 'crosskd': 'CrossKD-style',
               'stablekd-crosskd-pkd':
               'StableKD with the CrossKD-style path and PKD'}
    run_benchmark(tmp_path, 'detection_kd.py', '--work-dir', 'runs', '--out',
                  'report.md', '--families', 'fcos', '--seeds', 0,
                  '--methods', *methods, '--budgets', 5, '--images', 4, 2,
                  '--teacher-epochs', 1,
                  '--cfg-options', 'train_dataloader.batch_size=4',
                  'val_dataloader.batch_size=2')
    report = (tmp_path / 'report.md').read_text()
    for row in methods.values():
        assert 0 <= numbers(table_rows(report, row)[0])[0] <= 1, row
    assert not table_rows(report, 'PKD')  # only the methods asked for
    result = json.load(open(
        tmp_path / 'runs' / 'fcos' / '5ep' / 'crosskd' / 'seed0' /
        'result.json'))
    assert result['iters'] == 5
    assert 'model.teacher_ckpt=' in ' '.join(result['options'])
    runs = tmp_path / 'runs' / 'fcos' / '5ep'
    log = (runs / 'stablekd-crosskd-pkd' / 'seed0' / 'train.out').read_text()
    assert 'starts stage 2' in log  # the recomposition reached end to end
    # every distilled student clips at 10 (its KD config's clip, which the
    # hook's cap leaves) and starts its head as the teacher's
    for method in ('crosskd', 'stablekd-crosskd-pkd'):
        cfg = Config.fromfile(next((runs / method / 'seed0').glob('*.py')))
        assert cfg.optim_wrapper.clip_grad.max_norm == 10.0, method
        assert cfg.model.inherit == ['bbox_head'], method
    assert 'gradient norm clipped' not in log
    # the shipped base moves the half-merged groups to their own inputs:
    # the share is logged (one half-merged iteration: the ramp's start)
    shares = [row['own_input'] for row in logged_scalars(
        str(runs / 'stablekd-crosskd-pkd' / 'seed0')) if 'own_input' in row]
    assert shares and all(0 <= s <= 1 for s in shares)
    # the margin over the best baseline run, which it names
    margin, = table_rows(report,
                         '**StableKD (default) - the best KD baseline**')
    assert margin[0].endswith('(CrossKD-style)')
    # ... and the teacher's bbox mAP over that baseline's
    teacher = json.load(open(tmp_path / 'runs' / 'fcos' / 'teacher' /
                             'result.json'))
    room, = table_rows(report, 'the teacher - the best KD baseline')
    assert abs(float(room[0]) - (teacher['mAP'] - result['mAP'])) < 1e-3
    # the stage-losses tool reads these runs' logs: StableKD's 5 iterations
    # in its three stages (30% / 60% of 5: iterations 2 and 3, logged
    # 1-based), the baseline's as one
    for method, stages in (('stablekd-crosskd-pkd', [('0', '1-2'),
                                                     ('1', '3-3'),
                                                     ('2', '4-5')]),
                           ('crosskd', [('-', '1-5')])):
        subprocess.run([sys.executable, osp.join(
            ROOT, 'tools', 'analysis', 'stage_losses.py'),
            str(runs / method / 'seed0'), '--out', f'{method}.md'],
            cwd=tmp_path, check=True, capture_output=True)
        rows = [line.split(' | ') for line in
                (tmp_path / f'{method}.md').read_text().splitlines()[2:]]
        assert [(r[0].strip('| '), r[1]) for r in rows] == stages, method
        assert all(float(v.strip('| ')) > 0 for r in rows for v in r[2:])


def test_detection_kd_student_width_builds_narrower_students():
    # --student-width 8: every method's student a ResNet-18 at base width
    # 8 (ratio 1/4 to the teacher's 32) with the FPN and head kept, and
    # StableKD aligning the teacher's boundaries to it
    teachers = {'fcos': dict(ckpt='teacher.pth')}
    for method in ('alone', 'stablekd-crosskd-pkd'):
        (key, config, options), = detection_kd.plan(
            ['fcos'], [method], [4], [0], teachers, width=8,
            extra=['optim_wrapper.optimizer.lr=0.001'])
        assert options[-1] == 'optim_wrapper.optimizer.lr=0.001'
        cfg = Config.fromfile(osp.join(DEMO, config))
        cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in
                             (o.split('=', 1) for o in options)})
        if method == 'alone':
            student = build_model(cfg)
        else:
            cfg.model.teacher_ckpt = None
            model = build_model(cfg)
            student = model.student
            assert sorted(model.alignments.by_boundary) == ['0', '1', '2', '3']
        widths = [layer[-1].conv2.out_channels for layer in (
            student.backbone.layer1, student.backbone.layer2,
            student.backbone.layer3, student.backbone.layer4)]
        assert widths == [8, 16, 32, 64], method
        assert student.neck.out_channels == 64, method
        feats = student.extract_feat(torch.rand(1, 3, 64, 64))
        assert [f.shape[1] for f in feats] == [64] * len(feats), method
    # the default width sets nothing: the default runs' digests are kept
    assert detection_kd.width_options('pkd', 16) == []
    # varied students without a tag are refused before anything runs
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'detection_kd.py'),
         '--student-width', '8'], capture_output=True, text=True)
    assert out.returncode == 2 and '--tag' in out.stderr


def test_detection_kd_variants_set_what_their_names_say():
    for method, (_, prefix, options) in detection_kd.METHODS.items():
        if prefix is None:
            continue
        cfg = Config.fromfile(osp.join(
            DEMO, detection_kd.config_of('fcos', method)))
        cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in
                             (o.split('=', 1) for o in options)})
        # the -noinherit variants start the head their own way
        expected = [] if method.endswith('-noinherit') else ['bbox_head']
        assert cfg.model.inherit == expected, method
        # only the -keep variant keeps the boundary losses once merged
        assert cfg.model.get('keep_internal_losses', False) == \
            method.endswith('-keep'), method
        if not method.startswith('stablekd'):
            continue
        # the stages begin at 30% / 60% of the iterations (the shipped
        # base), or as each share variant sets them: in epochs at 20% / 40%
        # (-epochs), at 10% / 20% (-short), at 20% / 40% (-20-20), at
        # 40% / 70% (-longer)
        variant = method.removeprefix('stablekd-crosskd-pkd-')
        hook, = cfg.custom_hooks
        assert hook.by_epoch == (variant == 'epochs'), method
        begins = {'epochs': (0.2, 0.4), 'short': (0.1, 0.2),
                  '20-20': (0.2, 0.4),
                  'longer': (0.4, 0.7)}.get(variant, (0.3, 0.6))
        assert (cfg.recomposition.half.begin,
                cfg.recomposition.merged.begin) == begins, method
        # the half-merged groups move to their own inputs (the shipped
        # base), except in the -teacherfed variant
        assert cfg.recomposition.half.own_input == (
            0 if variant == 'teacherfed' else [0.0, 1.0]), method
        # -pkdb takes PKD's loss at the boundaries, the others (but the
        # PKD twin's) the relative MSE
        boundary_loss = cfg.model.get('feat_loss', {}).get(
            'type', 'FeatureMSELoss')
        assert (boundary_loss == 'PKDLoss') == (
            variant == 'pkdb' or method == 'stablekd-pkd'), method


def _detection_results():
    """Made-up results: 2 seeds of 3 methods at budgets 1 and 2 (mAP by
    (method, budget))."""
    maps = {('pkd', 1): (0.30, 0.40), ('crosskd-pkd', 1): (0.50, 0.30),
            ('stablekd-crosskd-pkd', 1): (0.45, 0.45),
            ('pkd', 2): (0.60, 0.70), ('crosskd-pkd', 2): (0.80, 0.70),
            ('stablekd-crosskd-pkd', 2): (0.70, 0.72)}
    return {('fcos', m, b, s): dict(mAP=v[s], iters=32 * b)
            for (m, b), v in maps.items() for s in (0, 1)}


def test_detection_kd_margin_is_over_the_best_baseline_of_each_cell():
    results = _detection_results()
    methods = ['pkd', 'crosskd-pkd', 'stablekd-crosskd-pkd']
    # budget 1: PKD 0.35, CrossKD-style + PKD 0.40, StableKD 0.45
    assert detection_kd.margin_over_baselines(
        results, 'fcos', 1, methods) == '+0.050 (CrossKD-style + PKD)'
    assert detection_kd.margin_over_baselines(
        results, 'fcos', 2, methods) == '-0.040 (CrossKD-style + PKD)'
    assert detection_kd.margin_over_baselines(
        results, 'fcos', 1, ['pkd', 'stablekd-crosskd-pkd']) == \
        '+0.100 (PKD)'
    assert detection_kd.margin_over_baselines(  # no StableKD run
        results, 'fcos', 1, ['pkd', 'crosskd-pkd']) == ''


def test_detection_kd_plots_map_against_the_budget(tmp_path):
    png = tmp_path / 'plots' / 'budgets.png'
    detection_kd.budget_plot(
        _detection_results(), {'fcos': dict(mAP=0.9)}, ['fcos'],
        ['pkd', 'crosskd-pkd', 'stablekd-crosskd-pkd'], [1, 2], str(png))
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_segmentation_kd_reports_every_method(tmp_path):
    # 4 training and 2 validation images in one batch: an iteration an
    # epoch; 5 epochs, so that StableKD's three stages begin at distinct
    # epochs (0, 1, 2); one variant, trained with what it sets
    rows = {'alone': 'student alone', 'kd': 'CWD KD',
            'stablekd': 'StableKD (shipped: CWD KD + recomposition)',
            'stablekd-noclip': 'StableKD without the gradient clip'}
    run_benchmark(tmp_path, 'segmentation_kd.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--epochs', 5,
                  '--methods', *rows, '--images', 4, 2,
                  '--teacher-epochs', 1,
                  '--cfg-options', 'train_dataloader.batch_size=4',
                  'val_dataloader.batch_size=2')
    report = (tmp_path / 'report.md').read_text()
    for row in ['teacher (width 32, one run)', *rows.values()]:
        assert 0 <= numbers(table_rows(report, row)[0])[0] <= 100, row
    assert not table_rows(report, 'half-merged 10%')  # not asked for
    runs = tmp_path / 'runs' / '5ep'
    result = json.load(open(runs / 'stablekd' / 'seed0' / 'result.json'))
    assert result['iters'] == 5
    assert 'model.teacher_ckpt=' in ' '.join(result['options'])
    log = (runs / 'stablekd' / 'seed0' / 'train.out').read_text()
    assert 'starts stage 2' in log  # the recomposition reached end to end
    assert 'RecompositionHook: gradient norm clipped at 10.0' in log
    # the variant's run trained without the hook's clip
    log = (runs / 'stablekd-noclip' / 'seed0' / 'train.out').read_text()
    assert 'starts stage 2' in log and 'gradient norm clipped' not in log
    variant = Config.fromfile(next(
        (runs / 'stablekd-noclip' / 'seed0').glob('*.py')))
    assert variant.custom_hooks[0].clip_grad is None
