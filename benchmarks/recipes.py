"""The authors' StableKD recipe at digits scale, against this project's
default recipe and KD.

    OMP_NUM_THREADS=1 python benchmarks/recipes.py \
        [--work-dir work_dirs/recipes] [--out docs/reproduction.md] \
        [--seeds 0 1 2] [--epochs 6] [--jobs 2] [--teacher CKPT] \
        [--teacher-width 32] [--teacher-epochs 16] \
        [--cfg-options KEY=VALUE ...]

The pair is the digits demo's: a CIFAR-style ResNet-18 teacher at base
width 32 (trained once, 16 epochs, as ``benchmarks/heterogeneous_pairs.py``
trains it; ``--teacher`` reuses a checkpoint) and the same network at base
width 8 as the student (PCAProjection alignments, the widths differing by
4x). ``--teacher-width 8`` distils from a teacher of the student's width
instead (no alignment, as in the authors' ResNet-34 -> ResNet-18 pairs).
Every run trains ``--epochs`` epochs of batch 64 through ``tools/train.py``
from the demo configs:

- KD: ``kd_resnet18-w32-w8_digits.py`` (SGD lr 0.1, cosine; T=4, CE 0.1 /
  KD 0.9);
- StableKD, this project's default recipe:
  ``stablekd_resnet18-w32-w8_digits.py`` (KD's recipe; 4 blocks, the head
  merged with layer4; decomposed / half-merged / end-to-end for 20% / 20%
  / 60% of the iterations);
- StableKD, the authors' recipe:
  ``stablekd-authors_resnet18-w32-w8_digits.py`` (5 blocks, the head its
  own block and never merged; three equal phases; CE 1 / KD 1; one
  learning-rate cycle per phase, floor 0.003x, first peak ``peak_ratio``
  times the base lr 0.1, halving every phase), with the authors' peak
  ratio 10 and with 1 (the peak at the base lr).

Finished runs are kept in the work dir and not run again. Prints the table
and rewrites the digits section of ``--out`` (between its markers).
"""
import argparse
import os
import os.path as osp
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'benchmarks')]
from heterogeneous_pairs import (add_budget_options,  # noqa: E402
                                 epoch_options, run, teacher_options)

# name -> (config, extra --cfg-options)
RECIPES = {
    'KD': ('kd_resnet18-w32-w8_digits.py', []),
    'StableKD, default recipe': ('stablekd_resnet18-w32-w8_digits.py', []),
    'StableKD, authors\' recipe (peak 10x)':
    ('stablekd-authors_resnet18-w32-w8_digits.py', []),
    'StableKD, authors\' recipe (peak 1x)':
    ('stablekd-authors_resnet18-w32-w8_digits.py',
     ['param_scheduler.0.peak_ratio=1.0']),
}
# the section of the report each teacher width writes
SECTIONS = {32: 'digits', 8: 'digits, equal widths'}


def teacher(work_dir: str, ckpt: str, width: int, epochs: int,
            extra: list) -> dict:
    """The teacher: ``ckpt``, or trained once in the work dir for
    ``epochs``, ``extra`` options last."""
    if ckpt:
        return dict(ckpt=ckpt, top1=None)
    run_dir = osp.join(work_dir, f'teacher_w{width}')
    return run('resnet18-w32_digits_teacher.py', run_dir,
               teacher_options(width) + epoch_options(epochs) + extra)


def plan(seeds, epochs: int, ckpt: str, width: int) -> list:
    """Every run: ``(recipe, seed, config, options)``."""
    return [(name, seed, config, [
        f'randomness.seed={seed}', f'train_cfg.max_epochs={epochs}',
        f'model.teacher_ckpt={ckpt}'
    ] + teacher_options(width, 'model.teacher.') + options)
            for seed in seeds for name, (config, options) in RECIPES.items()]


def table(results: dict, seeds) -> str:
    """Rows: recipes; cells: mean ± std of the final top-1, then every
    seed's."""
    lines = ['| recipe | top-1 (%), mean ± std | ' +
             ' | '.join(f'seed {s}' for s in seeds) + ' |',
             '|---|---:|' + '---:|' * len(seeds)]
    for name in RECIPES:
        top1 = [results[name, s]['top1'] for s in seeds
                if (name, s) in results]
        if not top1:
            continue
        cell = f'{statistics.mean(top1):.2f}'
        if len(top1) > 1:
            cell += f' ± {statistics.stdev(top1):.2f}'
        lines.append(f'| {name} | {cell} | ' + ' | '.join(
            f'{results[name, s]["top1"]:.2f}' if (name, s) in results else
            '' for s in seeds) + ' |')
    return '\n'.join(lines)


def write_section(path: str, name: str, text: str) -> None:
    """Replace what lies between the markers of section ``name`` of
    ``path`` with ``text``."""
    begin, end = f'<!-- {name}: begin -->', f'<!-- {name}: end -->'
    doc = open(path).read()
    head, rest = doc.split(begin)
    tail = rest.split(end)[1]
    with open(path, 'w') as f:
        f.write(f'{head}{begin}\n{text}\n{end}{tail}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs',
                                                       'recipes'))
    parser.add_argument('--out', default=osp.join('docs', 'reproduction.md'))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=6,
                        help='training epochs of every run (23 iterations '
                        'each)')
    parser.add_argument('--teacher', default='',
                        help='a trained digits teacher checkpoint of '
                        '--teacher-width')
    parser.add_argument('--teacher-width', type=int, default=32,
                        choices=sorted(SECTIONS),
                        help="the teacher's base width (the student's: 8)")
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs in parallel (one torch thread each)')
    add_budget_options(parser, teacher_epochs=16)
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    start = time.time()
    ckpt = teacher(args.work_dir, args.teacher, args.teacher_width,
                   args.teacher_epochs, args.cfg_options)['ckpt']
    runs = plan(args.seeds, args.epochs, ckpt, args.teacher_width)
    with ThreadPoolExecutor(args.jobs) as pool:
        done = pool.map(
            lambda r: run(r[2], osp.join(
                args.work_dir, f'epochs{args.epochs}'
                + ('' if args.teacher_width == 32 else
                   f'_teacher_w{args.teacher_width}'),
                ''.join(c if c.isalnum() else '_' for c in r[0]),
                f'seed{r[1]}'), r[3] + args.cfg_options), runs)
        results = {(name, seed): result
                   for (name, seed, _, _), result in zip(runs, done)}
    minutes = (time.time() - start) / 60
    seconds = statistics.mean(r['seconds'] for r in results.values())
    text = f'''Command (from the repository root, environment active):

```bash
{' '.join(['OMP_NUM_THREADS=1', 'python'] + sys.argv)}
```

Python {platform.python_version()}, {os.cpu_count()} CPU cores shared with
other jobs, {args.jobs} runs in parallel, {seconds:.0f} s per run on
average ({minutes:.0f} minutes for this invocation: finished runs in the
work dir are reused). Every run: {args.epochs} epochs of batch 64
({args.epochs * 23} iterations). Final test top-1 (%) on the 360 test
digits, seeds {args.seeds}:

{table(results, args.seeds)}'''
    print(table(results, args.seeds))
    write_section(args.out, SECTIONS[args.teacher_width], text)
    print(f'\nReport: {args.out}')


if __name__ == '__main__':
    main()
