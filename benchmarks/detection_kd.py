"""Detection distillation on the shapes: StableKD against the detector KD
baselines, for three families.

    OMP_NUM_THREADS=1 python benchmarks/detection_kd.py \
        [--work-dir work_dirs/detection_kd] [--out docs/detection_kd.md] \
        [--families retinanet fcos gfl] [--methods alone mse pkd crosskd \
        crosskd-pkd crosskd-pkd-noinherit stablekd stablekd-pkd \
        stablekd-crosskd stablekd-crosskd-pkd stablekd-crosskd-pkd-w10 \
        stablekd-crosskd-pkd-keep stablekd-crosskd-pkd-epochs \
        stablekd-crosskd-pkd-short stablekd-crosskd-pkd-20-20 \
        stablekd-crosskd-pkd-longer stablekd-crosskd-pkd-teacherfed \
        stablekd-crosskd-pkd-pkdb stablekd-crosskd-pkd-noinherit \
        crosskd-nowarmup crosskd-pkd-nowarmup stablekd-crosskd-pkd-nowarmup \
        pkd-warm10 crosskd-warm10 crosskd-pkd-warm10 \
        stablekd-crosskd-pkd-warm10 stablekd-crosskd-pkd-pca \
        stablekd-crosskd-pkd-ownearly] \
        [--budgets 4 12] [--seeds 0 1 2] [--jobs 1] \
        [--images 256 64] [--teacher-epochs N] [--teacher-depth 34] \
        [--shapes KEY=VALUE ...] [--cfg-options KEY=VALUE ...] \
        [--tag NAME --student-width 16 --student-options KEY=VALUE ...]

Per family (RetinaNet, FCOS, GFL: R-18 at width 32 -> 16, the teacher's FPN
and head widths), a teacher is trained once (its demo config: 24 epochs); then,
per seed and budget (student epochs; 4: the student alone far from its
ceiling, 12: the demo configs'), through ``tools/train.py`` on the shipped
demo configs (``configs/demo/``): the student alone, raw-MSE FPN imitation
KD, PKD (standardised FPN features, weight 10 per level), the CrossKD-style
path (the student's FPN levels through the teacher's frozen head,
``DenseHeadKDLoss``), both of these together (CrossKD's strongest
published recipe), and StableKD as shipped (the KD config plus the 5-block
recomposition of ``configs/_base_/recomposition/5blocks_30-30.py``:
decomposed, half-merged, end-to-end for 30% / 30% / 40% of the iterations,
the half-merged groups' fed inputs moving from the teacher's features to
the student's own), with PKD (its loss at the backbone boundaries and on
the FPN), with the CrossKD-style path, or with both (the twins of those
baselines plus the recomposition), and the last with the relative feature
loss at the boundaries weighted 10 (the model's default: 30) as the
classification configs weight it, or kept at the boundaries inside merged
groups (``keep_internal_losses=True``), or with other stage shares: the
earlier default (20% / 20% counted in epochs, which at 4 epochs begin at
epochs 1 and 2), 10% / 10%, 20% / 20% and 40% / 30% of the iterations,
or with the half-merged groups fed the teacher's features throughout
(``-teacherfed``, the default before ``own_input``), or with PKD's
standardised loss at the backbone boundaries instead of the relative MSE
(``-pkdb``, weight 30), or with the backbone boundaries aligned by
``PCAProjection`` (``-pca``), or with the fed blocks moving to their own
inputs from the first iteration (``-ownearly``: own_input 0 -> 0.5 while
decomposed, 0.5 -> 1 half-merged).
Every distilled student starts its head from the teacher's
(``inherit=['bbox_head']`` in the KD configs) and clips its gradient norm
at 10; the ``-noinherit`` variants initialise the head the student's own
way; the ``-nowarmup`` ones train without the demo configs' linear warm-up
(50 iterations from 10% of the rate), the ``-warm10`` ones with it over
the first 10 iterations only. Generated data: 256 training and 64
validation images of 128 x 128 pixels (the demo's).

``--student-width`` and ``--student-options`` change the students only
(their backbone's base width, e.g. 8 for a ratio of 1/4; any other
``--cfg-options`` of theirs, e.g. the learning rate or a share of the
data), so the teachers are reused; such runs go to ``<budget>ep-<tag>``.
``--shapes`` generates a harder set (more arguments of ``make_shapes_coco``:
more shapes an image, a brighter background, unannotated distractors), on
which the students do not all converge near mAP 1; its runs, teachers
included, need a work dir of their own (the data made is recorded there and
never reused for other arguments).

Finished runs are kept in the work dir (``result.json``) and not run again
while their config and options are unchanged. With three budgets or more,
a plot of bbox mAP against the students' iterations is written next to
the report.
Writes a Markdown report: bbox mAP, mean ± std over seeds, per family and
budget, and every run's figures.
"""
import argparse
import ast
import inspect
import os
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'tools'), osp.join(ROOT, 'benchmarks')]
import demo_detection  # noqa: E402
from mmstablekd.datasets.shapes import make_shapes_coco  # noqa: E402
from heterogeneous_pairs import (add_budget_options, how_it_ran,  # noqa: E402
                                 save_report)
from runs import (REL10, run_parallel,  # noqa: E402
                  shapes_parser, student_options, train_once)

FAMILIES = {  # name -> (teacher config, the configs' model suffix)
    'retinanet': ('retinanet_r18-w32_shapes_teacher.py',
                  'retinanet_r18-w32-w16_shapes.py'),
    'fcos': ('fcos_r18-w32_shapes_teacher.py', 'fcos_r18-w32-w16_shapes.py'),
    'gfl': ('gfl_r18-w32_shapes_teacher.py', 'gfl_r18-w32-w16_shapes.py'),
}
# the StableKD config whose margin over the KD baselines the report gives:
# the twin of CrossKD-style + PKD (the strongest baseline on RetinaNet and
# FCOS; on GFL CrossKD-style alone leads) + recomposition
DEFAULT = 'stablekd-crosskd-pkd'
# the demo students' backbone base width (the teachers': 32)
STUDENT_WIDTH = 16
# the student's head initialised its own way, not from the teacher's
NO_INHERIT = ['model.inherit=[]']
# the demo configs' linear warm-up (the first 50 iterations, from 10% of the
# learning rate) taken out: the rate starts at the cosine's
NO_WARMUP = ['param_scheduler.0.start_factor=1.0']
# the same warm-up over the first 10 iterations only
WARMUP10 = ['param_scheduler.0.end=10']


def stage_shares(half: float, merged: float) -> list:
    """Options that begin the half-merged and end-to-end stages at these
    shares of the iterations (the shipped base: 0.3 and 0.6)."""
    return [f'recomposition.half.begin={half}',
            f'recomposition.merged.begin={merged}']


METHODS = {  # name -> (table row, config prefix, what the run sets on it);
    # prefix None: the student alone
    'alone': ('student alone', None, []),
    'mse': ('raw-MSE FPN KD', 'kd', []),
    'pkd': ('PKD', 'pkd', []),
    'crosskd': ('CrossKD-style', 'crosskd', []),
    'crosskd-pkd': ('CrossKD-style + PKD', 'crosskd-pkd', []),
    'crosskd-nowarmup': ('CrossKD-style, no warm-up', 'crosskd', NO_WARMUP),
    'crosskd-pkd-nowarmup': ('CrossKD-style + PKD, no warm-up',
                             'crosskd-pkd', NO_WARMUP),
    'pkd-warm10': ('PKD, 10-iteration warm-up', 'pkd', WARMUP10),
    'crosskd-warm10': ('CrossKD-style, 10-iteration warm-up', 'crosskd',
                       WARMUP10),
    'crosskd-pkd-warm10': ('CrossKD-style + PKD, 10-iteration warm-up',
                           'crosskd-pkd', WARMUP10),
    'crosskd-pkd-noinherit': (
        "CrossKD-style + PKD, the student's own head initialisation",
        'crosskd-pkd', NO_INHERIT),
    'stablekd': ('StableKD (shipped)', 'stablekd', []),
    'stablekd-pkd': ('StableKD with PKD (boundaries and FPN)',
                     'stablekd-pkd', []),
    'stablekd-crosskd': ('StableKD with the CrossKD-style path',
                         'stablekd-crosskd', []),
    'stablekd-crosskd-pkd': ('StableKD with the CrossKD-style path and PKD',
                             'stablekd-crosskd-pkd', []),
    'stablekd-crosskd-pkd-w10': (
        'StableKD with the CrossKD-style path and PKD, boundary weight 10',
        'stablekd-crosskd-pkd', REL10),
    'stablekd-crosskd-pkd-keep': (
        'StableKD with the CrossKD-style path and PKD, boundary losses kept '
        'after merging', 'stablekd-crosskd-pkd',
        ['model.keep_internal_losses=True']),
    'stablekd-crosskd-pkd-epochs': (
        'StableKD with the CrossKD-style path and PKD, the earlier shares: '
        '20% / 20% counted in epochs', 'stablekd-crosskd-pkd',
        ['custom_hooks.0.by_epoch=True', *stage_shares(0.2, 0.4)]),
    'stablekd-crosskd-pkd-short': (
        'StableKD with the CrossKD-style path and PKD, decomposed and '
        'half-merged 10% of the iterations each', 'stablekd-crosskd-pkd',
        stage_shares(0.1, 0.2)),
    'stablekd-crosskd-pkd-20-20': (
        'StableKD with the CrossKD-style path and PKD, decomposed and '
        'half-merged 20% of the iterations each', 'stablekd-crosskd-pkd',
        stage_shares(0.2, 0.4)),
    'stablekd-crosskd-pkd-longer': (
        'StableKD with the CrossKD-style path and PKD, decomposed 40% and '
        'half-merged 30% of the iterations', 'stablekd-crosskd-pkd',
        stage_shares(0.4, 0.7)),
    'stablekd-crosskd-pkd-teacherfed': (
        'StableKD with the CrossKD-style path and PKD, half-merged groups '
        "fed the teacher's features throughout (own_input 0)",
        'stablekd-crosskd-pkd', ['recomposition.half.own_input=0']),
    'stablekd-crosskd-pkd-pkdb': (
        'StableKD with the CrossKD-style path and PKD, PKD\'s loss at the '
        'backbone boundaries too (weight 30)', 'stablekd-crosskd-pkd',
        ['model.feat_loss.type=PKDLoss', 'model.feat_loss.loss_weight=30.0']),
    'stablekd-crosskd-pkd-nowarmup': (
        'StableKD with the CrossKD-style path and PKD, no warm-up (the '
        'decomposed blocks start at the full rate)', 'stablekd-crosskd-pkd',
        NO_WARMUP),
    'stablekd-crosskd-pkd-warm10': (
        'StableKD with the CrossKD-style path and PKD, 10-iteration warm-up',
        'stablekd-crosskd-pkd', WARMUP10),
    'stablekd-crosskd-pkd-pca': (
        'StableKD with the CrossKD-style path and PKD, the backbone '
        "boundaries aligned by PCAProjection (the teacher's leading "
        'principal components) instead of ChannelSelection',
        'stablekd-crosskd-pkd', ['model.alignment.type=PCAProjection']),
    'stablekd-crosskd-pkd-ownearly': (
        'StableKD with the CrossKD-style path and PKD, the fed blocks '
        "moving to their own inputs from the start (own_input 0 -> 0.5 "
        'while decomposed, 0.5 -> 1 half-merged)', 'stablekd-crosskd-pkd',
        ['recomposition.decomposed.own_input=[0.0,0.5]',
         'recomposition.half.own_input=[0.5,1.0]']),
    'stablekd-crosskd-pkd-noinherit': (
        "StableKD with the CrossKD-style path and PKD, the student's own "
        'head initialisation', 'stablekd-crosskd-pkd', NO_INHERIT),
}


def shapes_option(text: str) -> tuple:
    """``'KEY=VALUE'`` -> ``(KEY, the value as a Python literal)``."""
    key, _, value = text.partition('=')
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(
            f'--shapes {text!r}: want KEY=VALUE with a Python literal '
            'value, e.g. max_objects=6 or "colours=(64,256)"') from None


# what --shapes may set: make_shapes_coco's arguments but where the data
# goes, how many images (--images) and the seed (one per split)
SHAPES_ARGUMENTS = [name for name in inspect.signature(
    make_shapes_coco).parameters if name not in (
        'out_dir', 'split', 'num_images', 'seed')]


def shapes_line(shapes: dict) -> str:
    """The report's sentence on a harder set's arguments ('' for none)."""
    if not shapes:
        return ''
    args = ', '.join(f'{key}={value!r}' for key, value in shapes.items())
    return f'The data is a harder set: ``make_shapes_coco(..., {args})`` ' \
        '(--shapes).'


def config_of(family: str, method: str) -> str:
    """The demo config of ``method`` for ``family``."""
    teacher, suffix = FAMILIES[family]
    prefix = METHODS[method][1]
    if prefix is None:  # e.g. retinanet_r18-w16_shapes_student.py
        return teacher.replace('w32', 'w16').replace('teacher', 'student')
    return f'{prefix}_{suffix}'


def data_options(data_root: str) -> list:
    """Point every dataloader and evaluator at ``data_root``."""
    root = data_root.rstrip('/') + '/'
    return [f'{loader}.dataset.data_root={root}' for loader in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        f'{metric}.ann_file={root}annotations/val.json'
        for metric in ('val_evaluator', 'test_evaluator')]


def measure(work_dir: str) -> dict:
    """``mAP``, ``mAP50`` and ``iters`` of a finished run."""
    mAP, mAP50, iters = demo_detection.read_result(work_dir)
    return dict(mAP=mAP, mAP50=mAP50, iters=iters)


def run(config: str, work_dir: str, options: list, train=True):
    """Train once (or read the result of an earlier run); None when there
    is none and ``train`` is False."""
    return train_once(osp.join(demo_detection.CONFIGS, config), work_dir,
                      options, measure, train)


def varies_students(width: int, extra) -> bool:
    """Whether students of base width ``width`` with ``extra`` options
    differ from the demo configs' students."""
    return width != STUDENT_WIDTH or bool(extra)


def width_options(method: str, width: int) -> list:
    """Options that build ``method``'s student with a ResNet-18 of base
    width ``width`` (the demo configs': 16, which sets nothing); the FPN and
    head keep their widths."""
    if width == STUDENT_WIDTH:
        return []
    model = 'model.' if METHODS[method][1] is None else 'model.student.'
    levels = ','.join(str(width * 2**i) for i in range(4))
    return [f'{model}backbone.base_channels={width}',
            f'{model}neck.in_channels=[{levels}]']


def teacher_depth_options(depth, distilled: bool) -> list:
    """Options that make the teacher a ResNet of ``depth`` (None: its
    config's, 18), for the teacher's own run or a distilled student's."""
    if depth is None:
        return []
    return [f'model.{"teacher." if distilled else ""}backbone.depth={depth}']


def plan(families, methods, budgets, seeds, teachers: dict,
         width: int = STUDENT_WIDTH, extra: tuple = (),
         teacher_depth=None) -> list:
    """Every student run: ``((family, method, budget, seed), config,
    options)``; the students of base width ``width``, ``extra`` options
    appended to each, their teachers ResNets of ``teacher_depth``."""
    runs = []
    for family in families:
        for budget in budgets:
            for seed in seeds:
                for method in methods:
                    ckpt = None if method == 'alone' else \
                        teachers[family]['ckpt']
                    variant = METHODS[method][2] + width_options(
                        method, width) + list(extra)
                    if ckpt is not None:
                        variant += teacher_depth_options(teacher_depth, True)
                    runs.append(((family, method, budget, seed),
                                 config_of(family, method),
                                 student_options(seed, budget, ckpt,
                                                 variant)))
    return runs


def _cell(values, seeds: int) -> str:
    """Mean ± std of bbox mAP, with the count where seeds are missing."""
    cell = f'{statistics.mean(values):.3f}'
    if len(values) > 1:
        cell += f' ± {statistics.stdev(values):.3f}'
    return cell if len(values) == seeds else f'{cell} ({len(values)} seeds)'


def cell_runs(results: dict, family: str, method: str,
              budget: int) -> list:
    """The results of one (family, method, budget) cell, a run per seed."""
    return [v for (f, m, b, _), v in results.items()
            if (f, m, b) == (family, method, budget)]


def cell_means(results: dict, family: str, budget: int, methods) -> dict:
    """Method -> mean bbox mAP over its seeds, of the methods that ran."""
    return {m: statistics.mean(r['mAP'] for r in runs) for m in methods
            if (runs := cell_runs(results, family, m, budget))}


def best_baseline(means: dict):
    """``(mean, method)`` of the best KD baseline among ``means`` (the
    distilled methods that are not StableKD), or None."""
    baselines = [(mean, m) for m, mean in means.items()
                 if METHODS[m][1] is not None
                 and not METHODS[m][1].startswith('stablekd')]
    return max(baselines) if baselines else None


def margin_over_baselines(results: dict, family: str, budget: int,
                          methods) -> str:
    """StableKD's default mean bbox mAP minus the best KD baseline's,
    naming it; empty when either is missing."""
    means = cell_means(results, family, budget, methods)
    best = best_baseline(means)
    if DEFAULT not in means or best is None:
        return ''
    return f'{means[DEFAULT] - best[0]:+.3f} ({METHODS[best[1]][0]})'


def teacher_room(results: dict, teachers: dict, family: str, budget: int,
                 methods) -> str:
    """The teacher's bbox mAP minus the best KD baseline's mean: the room
    left above the baseline without passing the teacher."""
    best = best_baseline(cell_means(results, family, budget, methods))
    return '' if best is None else \
        f'{teachers[family]["mAP"] - best[0]:+.3f}'


def comparison_table(results: dict, teachers: dict, families, methods,
                     budgets, seeds: int) -> str:
    """Rows: methods; columns: (family, budget); cells: mean ± std; last
    rows: StableKD's default margin over the best KD baseline, and the
    teacher's over that baseline."""
    columns = [(f, b) for f in families for b in budgets]
    lines = ['| method | ' + ' | '.join(
        f'{f}, {b} epochs' for f, b in columns) + ' |',
        '|---|' + '---:|' * len(columns)]
    for method in methods:
        cells = []
        for family, budget in columns:
            maps = [r['mAP'] for r in cell_runs(results, family, method,
                                                budget)]
            cells.append(_cell(maps, seeds) if maps else '')
        lines.append(f'| {METHODS[method][0]} | ' + ' | '.join(cells) + ' |')
    margins = [margin_over_baselines(results, f, b, methods)
               for f, b in columns]
    if any(margins):
        lines.append('| **StableKD (default) - the best KD baseline** | '
                     + ' | '.join(margins) + ' |')
    rooms = [teacher_room(results, teachers, f, b, methods)
             for f, b in columns]
    if any(rooms):
        lines.append('| the teacher - the best KD baseline | '
                     + ' | '.join(rooms) + ' |')
    return '\n'.join(lines)


def budget_plot(results: dict, teachers: dict, families, methods,
                budgets, filename: str) -> None:
    """bbox mAP against the students' iterations (log scale), a panel per
    family and a line per method: the mean over seeds, their range shaded;
    the teacher's mAP as a horizontal line."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    fig, axes = plt.subplots(1, len(families), squeeze=False,
                             figsize=(5.5 * len(families), 4.2))
    for ax, family in zip(axes[0], families):
        for method in methods:
            points = []
            for budget in budgets:
                runs = cell_runs(results, family, method, budget)
                if runs:
                    maps = [r['mAP'] for r in runs]
                    points.append((runs[0]['iters'], statistics.mean(maps),
                                   min(maps), max(maps)))
            if points:
                iters, mean, low, high = zip(*points)
                ax.plot(iters, mean, marker='o', label=METHODS[method][0])
                ax.fill_between(iters, low, high, alpha=0.15)
        ax.axhline(teachers[family]['mAP'], color='black', linewidth=0.8,
                   label='teacher')
        ax.set_xscale('log', base=2)
        ax.set_xlabel("students' training iterations")
        ax.set_ylabel('bbox mAP')
        ax.set_title(family)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(filename, dpi=110)
    plt.close(fig)


def students_line(width: int, extra: list) -> str:
    """What this report's students change from the demo configs' (an empty
    line when nothing)."""
    if not varies_students(width, extra):
        return ''
    options = ', '.join(f'`{o}`' for o in extra) or 'none'
    return (f"\n**This report's students** differ from the demo configs': "
            f'backbone base width {width} (the teachers\' 32), options '
            f'{options}.\n')


def runs_table(results: dict) -> str:
    lines = ['| family | method | epochs | seed | bbox mAP | mAP@0.5 | '
             'iterations | wall (s) |', '|---|---|---:|---:|---:|---:|---:|'
             '---:|']
    for (family, method, budget, seed), v in results.items():
        lines.append(
            f'| {family} | {METHODS[method][0]} | {budget} | {seed} | '
            f'{v["mAP"]:.3f} | {v["mAP50"]:.3f} | {v["iters"]} | '
            f'{v["seconds"]:.0f} |')
    return '\n'.join(lines)


def main():
    parser = shapes_parser('detection_kd', __doc__, METHODS)
    parser.add_argument('--families', nargs='+', choices=list(FAMILIES),
                        default=list(FAMILIES))
    parser.add_argument('--budgets', type=int, nargs='+', default=[4, 12],
                        help="the students' training epochs")
    add_budget_options(parser)
    parser.add_argument('--student-width', type=int, default=STUDENT_WIDTH,
                        help="the students' backbone base width (the "
                        "teachers': 32)")
    parser.add_argument('--student-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help="appended to the students' options only")
    parser.add_argument('--teacher-depth', type=int, choices=(18, 34),
                        help="the teachers' ResNet depth (default: their "
                        "configs', 18; 34 keeps the widths, so the FPN's "
                        "inputs): teachers to <family>/teacher-r<depth>, "
                        "students to <budget>ep-r<depth>[-<tag>]")
    parser.add_argument('--shapes', nargs='+', default=[], metavar='KEY=VALUE',
                        type=shapes_option,
                        help='arguments of make_shapes_coco for a harder set '
                        '(e.g. max_objects=6 noise=128 "colours=(64,256)" '
                        'distractors=2); give it its own --work-dir')
    parser.add_argument('--tag', help='required with --student-width or '
                        "--student-options: the students' runs go to "
                        '<budget>ep-<tag>, apart from the default ones')
    args = parser.parse_args()
    if varies_students(args.student_width, args.student_options) and \
            not args.tag:
        parser.error('--student-width / --student-options change the '
                     "students: give them a --tag (e.g. --tag lr1e-3) so "
                     "that their runs do not replace the default ones")
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    start = time.time()
    data_root = osp.join(args.work_dir, 'shapes')
    shapes = dict(args.shapes)
    unknown = set(shapes) - set(SHAPES_ARGUMENTS)
    if unknown:
        parser.error(f'--shapes {sorted(unknown)}: make_shapes_coco takes '
                     f'{", ".join(SHAPES_ARGUMENTS)}')
    try:
        demo_detection.make_data(data_root, args.images, **shapes)
    except ValueError as error:  # data made with other arguments
        parser.error(str(error))
    common = data_options(data_root) + args.cfg_options
    teacher_options = [] if args.teacher_epochs is None else [
        f'train_cfg.max_epochs={args.teacher_epochs}']
    teacher_options += teacher_depth_options(args.teacher_depth, False)
    depth = '' if args.teacher_depth is None else f'-r{args.teacher_depth}'
    teachers = run_parallel(  # the families' teachers side by side
        [(family, FAMILIES[family][0], teacher_options + common)
         for family in args.families], args.jobs,
        lambda family, config, options: run(
            config, osp.join(args.work_dir, family, f'teacher{depth}'),
            options))
    runs = plan(args.families, args.methods, args.budgets, args.seeds,
                teachers, args.student_width, args.student_options,
                args.teacher_depth)
    tag = depth + (f'-{args.tag}' if args.tag else '')
    results = run_parallel(runs, args.jobs, lambda key, config, options: run(
        config, osp.join(args.work_dir, key[0], f'{key[2]}ep{tag}', key[1],
                         f'seed{key[3]}'), options + common,
        not args.report_only))
    table = comparison_table(results, teachers, args.families,
                             args.methods, args.budgets, len(args.seeds))
    teacher_lines = '\n'.join(
        f'| {f} | {FAMILIES[f][0]} | {t["mAP"]:.3f} | {t["iters"]} |'
        for f, t in teachers.items())
    missing = len(runs) - len(results)
    plot = ''
    if len(args.budgets) >= 3:
        png = osp.splitext(args.out)[0] + '_budgets.png'
        budget_plot(results, teachers, args.families, args.methods,
                    args.budgets, png)
        plot = f'![bbox mAP against budget]({osp.basename(png)})\n'
    minutes = None if args.report_only else (time.time() - start) / 60
    report = f'''# Detection KD on the shapes: StableKD against the baselines

{how_it_ran(args.jobs, minutes)}
{f"{missing} planned runs had not run when this report was written: "
 "their cells hold fewer seeds (the count is shown)." if missing else ""}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}
{students_line(args.student_width, args.student_options)}
{shapes_line(shapes)}
{f"The teachers' backbones are ResNet-{args.teacher_depth}s (the configs' "
 "depth overridden; widths unchanged)." if args.teacher_depth else ""}
Teachers (bbox mAP on the validation images):

| family | config | bbox mAP | iterations |
|---|---|---:|---:|
{teacher_lines}

## bbox mAP, mean ± std over seeds {args.seeds}

{table}

{plot}
## Every run

{runs_table(results)}
'''
    save_report(args.out, report, table)


if __name__ == '__main__':
    main()
