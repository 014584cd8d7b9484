"""StableKD when teacher and student widths differ: which alignment.

    OMP_NUM_THREADS=1 python benchmarks/heterogeneous_pairs.py \
        [--work-dir work_dirs/heterogeneous_pairs] \
        [--out docs/heterogeneous_pairs.md] [--seeds 0 1 2] [--jobs 2] \
        [--alignments pca chansel convbn] [--ablations pca-signed ...] \
        [--fractions 1.0 0.2] [--iters 92] [--teacher-widths 8 16 32] \
        [--teacher-epochs 16] [--cfg-options KEY=VALUE ...]

The student is the digits demo's (CIFAR-style ResNet-18 at base width 8);
the teachers are the same network at base width 8, 16 and 32 (width ratios
1, 1/2 and 1/4), each trained once on all the training data. Per seed,
width ratio and share of the training data, through ``tools/train.py`` on
the demo configs: the student alone, KD, and StableKD with each of
``--alignments`` (with equal widths StableKD needs none); the
``--ablations`` (variants of an alignment) run on the first seed only.
Every run has the same budget, ``--iters`` iterations of batch 64 (92:
4 epochs of all the data, 18 of a fifth: short enough that KD has not
saturated; at 184, the demo's 8 epochs, KD reaches ~98.5% on either
share), and the demo's recipe (SGD lr 0.1, cosine; KD T=4, CE 0.1 / KD
0.9; StableKD decomposed / half-merged / end-to-end for 20% / 20% / 60%).

Finished runs are kept in the work dir and not run again, so the benchmark
can be extended (more seeds, alignments) or resumed. Writes a Markdown
report: the comparison table (means and standard deviations of the final
test top-1 over seeds) and every run's figures.
"""
import argparse
import os
import os.path as osp
import platform
import shlex
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'tools'), osp.join(ROOT, 'benchmarks')]
import demo_digits  # noqa: E402
from runs import train_once  # noqa: E402

STUDENT_WIDTH = 8
TEACHER_WIDTHS = (8, 16, 32)  # width ratios 1, 1/2, 1/4
TEACHER_EPOCHS = 16
CONFIGS = {
    'student alone': 'resnet18-w8_digits_student.py',
    'KD': 'kd_resnet18-w32-w8_digits.py',
    'StableKD': 'stablekd_resnet18-w32-w8_digits.py',
}
# name -> (description, the alignment config as --cfg-options)
ALIGNMENTS = {
    'pca': ('PCAProjection (fixed, fitted; shifted to the student\'s range)',
            ['model.alignment.type=PCAProjection']),
    'pca-signed': ('PCAProjection, signed (no range matching)', [
        'model.alignment.type=PCAProjection',
        'model.alignment.match_range=False'
    ]),
    'pca-whiten': ('PCAProjection, whitened', [
        'model.alignment.type=PCAProjection', 'model.alignment.whiten=True'
    ]),
    'chansel': ('ChannelSelection (fixed, the largest-L1 teacher channels)',
                ['model.alignment.type=ChannelSelection']),
    'convbn': ('ConvBNAdapter (learned 1x1 conv + BN, trained by the block '
               'it feeds)', ['model.alignment.type=ConvBNAdapter']),
}


def teacher_options(width: int, prefix: str = 'model.') -> list:
    """Options that set a demo ResNet-18's base width."""
    return [f'{prefix}backbone.base_channels={width}',
            f'{prefix}backbone.stem_channels={width}',
            f'{prefix}head.in_channels={8 * width}']


def budget_options(fraction: float, iters: int) -> list:
    """About ``iters`` iterations (whole epochs, validated at most 8 times)
    on ``fraction`` of the data."""
    per_epoch = -(-round(1437 * fraction) // 64)
    epochs = max(1, round(iters / per_epoch))
    subset = [] if fraction == 1.0 else [
        'train_dataloader.sampler.type=mmstablekd.ClassBalancedSubsetSampler',
        f'train_dataloader.sampler.fraction={fraction}'
    ]
    return subset + [f'train_cfg.max_epochs={epochs}',
                     f'train_cfg.val_interval={max(1, epochs // 8)}']


def top1(work_dir: str) -> dict:
    """``top1`` (%) at a finished run's last validation, and ``iters``."""
    iters, curve = demo_digits.read_curve(work_dir)
    return dict(top1=curve[-1][1], iters=iters)


def run(config: str, work_dir: str, options: list, train=True):
    """Train once (or read the result of an earlier identical run); None
    when there is none and ``train`` is False."""
    return train_once(osp.join(demo_digits.CONFIGS, config), work_dir,
                      options, top1, train)


def epoch_options(epochs) -> list:
    """The option that trains ``epochs`` epochs; none when None (the
    config's)."""
    return [] if epochs is None else [f'train_cfg.max_epochs={epochs}']


def train_teachers(work_dir: str, jobs: int, widths, epochs,
                   extra: list) -> dict:
    """Teacher checkpoint by width, trained ``epochs`` (None: its config's)
    on all the data, ``extra`` options last."""
    def one(width):
        run_dir = osp.join(work_dir, f'teacher_w{width}')
        return width, run('resnet18-w32_digits_teacher.py', run_dir,
                          teacher_options(width) + epoch_options(epochs) +
                          extra)

    with ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, widths))


def plan(seeds, fractions, iters, alignments, ablations,
         teachers: dict) -> list:
    """Every run: ``(key, config, options)``; key =
    ``(method, width ratio, fraction, seed)``; one teacher width per entry
    of ``teachers``."""
    runs = []
    for fraction in fractions:
        for seed in seeds:
            base = [f'randomness.seed={seed}'] + budget_options(
                fraction, iters)
            runs.append((('student alone', None, fraction, seed),
                         CONFIGS['student alone'], base))
            for width in teachers:
                ratio = STUDENT_WIDTH / width
                distill = base + [
                    f'model.teacher_ckpt={teachers[width]["ckpt"]}'
                ] + teacher_options(width, 'model.teacher.')
                runs.append((('KD', ratio, fraction, seed), CONFIGS['KD'],
                             distill))
                names = alignments + (ablations if seed == seeds[0] else [])
                methods = {'StableKD': []} if width == STUDENT_WIDTH else {
                    f'StableKD, {name}': ALIGNMENTS[name][1]
                    for name in names
                }
                for method, options in methods.items():
                    runs.append(((method, ratio, fraction, seed),
                                 CONFIGS['StableKD'], distill + options))
    return runs


def _slug(key, iters: int) -> str:
    method, ratio, fraction, seed = key
    name = method if ratio is None else f'{method}_r{ratio:g}'
    name = ''.join(c if c.isalnum() or c == '.' else '_' for c in name)
    return osp.join(f'iters{iters}', f'data{fraction:g}', name,
                    f'seed{seed}')


def _mean_std(values, seeds: int) -> str:
    """Mean ± std, with the number of seeds where some did not run."""
    cell = f'{statistics.mean(values):.2f}'
    if len(values) > 1:
        cell += f' ± {statistics.stdev(values):.2f}'
    return cell if len(values) == seeds else \
        f'{cell} ({len(values)} seed{"s" * (len(values) > 1)})'


def comparison_table(results: dict, fractions, seeds: int,
                     widths=TEACHER_WIDTHS) -> str:
    """Rows: methods; columns: (width ratio, data fraction), a ratio per
    teacher width; cells: mean ± std of the final top-1 over seeds."""
    ratios = [STUDENT_WIDTH / w for w in widths]
    columns = [(r, f) for f in fractions for r in ratios]
    methods = list(dict.fromkeys(k[0] for k in results))
    header = ['method'] + [
        f'ratio {r:g}, {f:.0%} data' for r, f in columns]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|---|' + '---:|' * len(columns)]
    for method in methods:
        cells = []
        for ratio, fraction in columns:
            top1 = [v['top1'] for k, v in results.items()
                    if k[0] == method and k[2] == fraction and
                    (k[1] is None or k[1] == ratio)]
            cells.append(_mean_std(top1, seeds) if top1 else '')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def how_it_ran(jobs: int, minutes) -> str:
    """A report's command line and machine; ``minutes`` None when nothing
    was trained."""
    command = 'OMP_NUM_THREADS=1 python ' + shlex.join(
        [a for a in sys.argv if a != '--report-only'])
    took = '' if minutes is None else f'; {minutes:.0f} minutes in all'
    return f'''Command (from the repository root, environment active):

```bash
{command}
```

Python {platform.python_version()}, {os.cpu_count()} CPU cores (shared
with other jobs: wall times are not a cost comparison), {jobs} runs
in parallel with one torch thread each{took}
(finished runs in the work dir are reused).'''


def runs_table(results: dict) -> str:
    lines = ['| method | width ratio | data | seed | top-1 (%) | iterations '
             '| wall (s) |', '|---|---:|---:|---:|---:|---:|---:|']
    for (method, ratio, fraction, seed), v in results.items():
        lines.append(
            f'| {method} | {"" if ratio is None else f"{ratio:g}"} | '
            f'{fraction:.0%} | {seed} | {v["top1"]:.2f} | {v["iters"]} | '
            f'{v["seconds"]:.0f} |')
    return '\n'.join(lines)


def pairs_parser(name: str, doc: str,
                 teacher_epochs=None) -> argparse.ArgumentParser:
    """The options every pair benchmark takes; its runs go to
    ``work_dirs/<name>``, its report to ``docs/<name>.md``, and its teacher
    trains ``teacher_epochs`` (None: its config's)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', name))
    parser.add_argument('--out', default=osp.join('docs', f'{name}.md'))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=92,
                        help='training iterations of every run')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs in parallel (one torch thread each)')
    parser.add_argument('--report-only', action='store_true',
                        help='report the finished runs, train nothing')
    add_budget_options(parser, teacher_epochs)
    return parser


def add_budget_options(parser: argparse.ArgumentParser,
                       teacher_epochs=None) -> None:
    """The options that shrink a benchmark for a quick check: the teacher's
    epochs (default ``teacher_epochs``, None: its config's) and
    ``--cfg-options`` for every run, the teacher's too."""
    parser.add_argument(
        '--teacher-epochs', type=int, default=teacher_epochs,
        help="the teacher's training epochs (default: "
        + (f'{teacher_epochs})' if teacher_epochs else "its config's)"))
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='appended to the options of every run, the teachers\' too '
        '(e.g. a subset of the data, through train_dataloader.sampler, for a '
        'quick check); a benchmark that reuses the finished runs of its work '
        'dir reuses them whatever their options: give a quick check its own '
        '--work-dir')


def main():
    parser = pairs_parser('heterogeneous_pairs', __doc__, TEACHER_EPOCHS)
    parser.add_argument('--teacher-widths', type=int, nargs='+',
                        default=list(TEACHER_WIDTHS),
                        help="the teachers' base widths (the student's: "
                        f'{STUDENT_WIDTH})')
    parser.add_argument('--fractions', type=float, nargs='+',
                        default=[1.0, 0.2])
    parser.add_argument('--alignments', nargs='+', choices=list(ALIGNMENTS),
                        default=['pca', 'chansel', 'convbn'])
    parser.add_argument('--ablations', nargs='*', choices=list(ALIGNMENTS),
                        default=['pca-signed', 'pca-whiten'],
                        help='alignments run on the first seed only')
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    start = time.time()
    teachers = train_teachers(args.work_dir, args.jobs, args.teacher_widths,
                              args.teacher_epochs, args.cfg_options)
    runs = plan(args.seeds, args.fractions, args.iters, args.alignments,
                args.ablations, teachers)
    with ThreadPoolExecutor(args.jobs) as pool:
        done = pool.map(
            lambda r: run(r[1], osp.join(args.work_dir, _slug(
                r[0], args.iters)), r[2] + args.cfg_options,
                not args.report_only), runs)
        results = {key: result for (key, _, _), result in zip(runs, done)
                   if result is not None}
    missing = len(runs) - len(results)
    table = comparison_table(results, args.fractions, len(args.seeds),
                             args.teacher_widths)
    minutes = (time.time() - start) / 60
    teacher_lines = '\n'.join(
        f'| ResNet-18 w{w} | {STUDENT_WIDTH / w:g} | {t["top1"]:.2f} |'
        for w, t in teachers.items())
    alignment_lines = '\n'.join(
        f'- `{n}`: {d}' for n, (d, _) in ALIGNMENTS.items()
        if n in args.alignments + args.ablations)
    report = f'''# StableKD with differing widths: alignments compared

{how_it_ran(args.jobs, None if args.report_only else minutes)}
{f"{missing} planned runs had not run when this report was written: "
 "their cells hold fewer seeds (the count is shown)." if missing else ""}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}

Teachers (test top-1 after {args.teacher_epochs} epochs):

| teacher | student / teacher width | top-1 (%) |
|---|---:|---:|
{teacher_lines}

Alignments (built where the widths differ):
{alignment_lines}

## Final test top-1 (%), mean ± std over seeds {args.seeds}

{table}

## Every run

{runs_table(results)}
'''
    save_report(args.out, report, table)


def save_report(path: str, report: str, summary: str) -> None:
    """Write ``report`` to ``path`` (making its folder), print ``summary``
    and where the report went."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(report)
    print(summary)
    print(f'\nReport: {path}')


if __name__ == '__main__':
    main()
