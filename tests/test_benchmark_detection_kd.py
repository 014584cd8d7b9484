"""``benchmarks/detection_kd.py`` (the detection benchmark) at a tiny size,
and its report's helpers."""
import json
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config, DictAction

from benchmark_helpers import DEMO, numbers, run_benchmark, table_rows
from conftest import ROOT, build_model
from mmstablekd.utils import logged_scalars

# benchmarks/*.py, on the path once benchmark_helpers is imported
import detection_kd


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
    # ... and the validation-curve tool: StableKD's one validation, after
    # the 5th epoch (iteration 5), in its end-to-end stage
    out = subprocess.run([sys.executable, osp.join(
        ROOT, 'tools', 'analysis', 'val_curve.py'), '--runs', 'StableKD',
        str(runs / 'stablekd-crosskd-pkd' / 'seed0')], cwd=tmp_path,
        check=True, capture_output=True, text=True)
    stablekd = json.load(open(runs / 'stablekd-crosskd-pkd' / 'seed0' /
                              'result.json'))
    assert out.stdout.splitlines()[2] == \
        f'| 5 | 5 | {stablekd["mAP"]:.3f} (stage 2) |'


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


def test_detection_kd_teacher_depth_deepens_the_teachers_only():
    # --teacher-depth 34: the StableKD student learns from a
    # ResNet-34 teacher of the same widths, cut at its 4 stages as the
    # student is; the student alone is unchanged
    teachers = {'retinanet': dict(ckpt='teacher.pth')}
    runs = {method: detection_kd.plan(
        ['retinanet'], [method], [4], [0], teachers, teacher_depth=34)[0]
        for method in ('alone', 'stablekd-crosskd-pkd')}
    assert runs['alone'][2] == detection_kd.plan(
        ['retinanet'], ['alone'], [4], [0], teachers)[0][2]
    _, config, options = runs['stablekd-crosskd-pkd']
    cfg = Config.fromfile(osp.join(DEMO, config))
    cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in
                         (o.split('=', 1) for o in options)})
    cfg.model.teacher_ckpt = None
    model = build_model(cfg)
    assert [len(layer) for layer in (
        model.teacher.backbone.layer1, model.teacher.backbone.layer2,
        model.teacher.backbone.layer3, model.teacher.backbone.layer4)] == \
        [3, 4, 6, 3]
    assert model.student.backbone.depth == 18
    assert sorted(model.alignments.by_boundary) == ['0', '1', '2', '3']
    # the teacher's own run gets the depth without the ``teacher.`` prefix
    assert detection_kd.teacher_depth_options(34, False) == [
        'model.backbone.depth=34']
    assert detection_kd.teacher_depth_options(None, True) == []


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
        # only the -nowarmup variants start at the full learning rate, and
        # only the -warm10 ones reach it after 10 iterations, not 50
        warmup, = [s for s in cfg.param_scheduler if s.type == 'LinearLR']
        assert (warmup.start_factor == 1.0) == method.endswith('-nowarmup')
        assert warmup.end == (10 if method.endswith('-warm10') else 50)
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
        # base), except in the -teacherfed variant; -ownearly begins the
        # move while decomposed
        assert cfg.recomposition.half.own_input == {
            'teacherfed': 0, 'ownearly': [0.5, 1.0]}.get(
                variant, [0.0, 1.0]), method
        assert cfg.recomposition.decomposed.get('own_input', 0.0) == (
            [0.0, 0.5] if variant == 'ownearly' else 0.0), method
        # -pca aligns the backbone boundaries by PCA, the others as the
        # model chooses ('auto': ChannelSelection where the teacher is
        # wider)
        alignment = cfg.model.get('alignment', 'auto')
        assert (alignment == 'auto') != (variant == 'pca'), method
        if variant == 'pca':
            cfg.model.teacher_ckpt = None
            model = build_model(cfg, fit_alignments=False)
            assert {type(a).__name__
                    for a in model.alignments.by_boundary.values()} == {
                        'PCAProjection'}
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


def test_detection_kd_makes_the_harder_shapes_it_is_given(tmp_path):
    run_benchmark(tmp_path, 'detection_kd.py', '--work-dir', 'runs', '--out',
                  'report.md', '--families', 'fcos', '--seeds', 0,
                  '--methods', 'alone', '--budgets', 1, '--images', 4, 2,
                  '--teacher-epochs', 1, '--shapes', 'distractors=1',
                  'colours=(64, 256)',
                  '--cfg-options', 'train_dataloader.batch_size=4',
                  'val_dataloader.batch_size=2')
    # the arguments reach the data, are recorded beside it, and the report
    # says them
    assert json.load(open(tmp_path / 'runs' / 'shapes' / 'shapes.json')) == \
        {'distractors': 1, 'colours': [64, 256]}
    report = (tmp_path / 'report.md').read_text()
    assert 'make_shapes_coco(..., distractors=1, colours=(64, 256))' in report
    # ... and its command, quoted so that it can be pasted into a shell
    assert "--shapes distractors=1 'colours=(64, 256)' --cfg-options" in report
    # data made with other arguments is never taken for these
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'detection_kd.py'),
         '--work-dir', 'runs', '--families', 'fcos', '--methods', 'alone',
         '--report-only'], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 2 and '--work-dir' in out.stderr
    assert 'Traceback' not in out.stderr
    # an argument make_shapes_coco does not take is refused by name, with
    # the ones it does
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'detection_kd.py'),
         '--work-dir', 'other', '--shapes', 'nois=128'], cwd=tmp_path,
        capture_output=True, text=True)
    assert out.returncode == 2 and "['nois']" in out.stderr
    assert 'distractors' in out.stderr
    assert not (tmp_path / 'other').exists()
    # a value that is no Python literal is refused by name
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'detection_kd.py'),
         '--shapes', 'noise=loud'], cwd=tmp_path, capture_output=True,
        text=True)
    assert out.returncode == 2 and "--shapes 'noise=loud'" in out.stderr
