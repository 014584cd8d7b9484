"""The embedded demo: teacher, student alone, KD and StableKD on the digits.

Every run goes through ``tools/train.py`` as a user would run it. The
teacher is trained once (and reused while its checkpoint exists); the
student alone, KD and StableKD then train at four budgets (1/8, 1/4, 1/2
and all of the demo's iterations), on a fifth of the training data, so
that none of them has saturated. Afterwards a table (top-1 per budget) is
printed and written, with a picture of final top-1 against budget and of
the full-budget runs' curves (the recomposition stages marked), into the
work dir:

    python tools/demo_digits.py [--work-dir work_dirs/demo] [--jobs 2]
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = 'resnet18-w32_digits_teacher.py'  # the pair benchmarks' teacher
RUNS = [  # (name, config, distilled from the teacher): the authors' pair
    ('teacher (ResNet-34 w8)', 'resnet34-w8_digits16_teacher.py', False),
    ('student alone (ResNet-18 w8)',
     'resnet18-w8_digits16-fifth_student.py', False),
    ('KD', 'kd_resnet34-resnet18-w8_digits16-fifth.py', True),
    ('StableKD', 'stablekd_resnet34-resnet18-w8_digits16-fifth.py', True),
]
TEACHER_EPOCHS = 15  # as its config trains it, on all the training data
STUDENT_EPOCHS = 12  # the full budget: 60 iterations on a fifth of the data
BUDGETS = (1 / 8, 1 / 4, 1 / 2, 1)


def train(config: str, work_dir: str, options: list) -> float:
    """Run tools/train.py; return the wall time in seconds."""
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
           '--work-dir', work_dir] + (['--cfg-options'] + options
                                      if options else [])
    print('$', ' '.join(cmd), flush=True)
    start = time.perf_counter()
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'train.out'), 'w') as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT)
    return time.perf_counter() - start


def read_curve(work_dir: str):
    """(iterations, [(iteration, top-1)]) of a finished run."""
    import torch
    import mmstablekd  # noqa: F401  (safe loading of MMEngine checkpoints)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    meta = torch.load(ckpt, map_location='cpu', weights_only=True)['meta']
    iters_per_epoch = meta['iter'] / meta['epoch']
    rows = mmstablekd.utils.logged_scalars(work_dir)
    curve = [(round(r['step'] * iters_per_epoch), r['accuracy/top1'])
             for r in rows if 'accuracy/top1' in r]
    return meta['iter'], curve


def trained_teacher(work_root: str, config: str = RUNS[0][1],
                    epochs: int = TEACHER_EPOCHS, options=()) -> str:
    """The checkpoint of the teacher ``config`` (in ``configs/demo``)
    trained ``epochs`` epochs: trained now with ``options``, or reused when
    a finished run of it is in the work dir."""
    work_dir = osp.join(work_root, osp.splitext(config)[0])
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(last) and open(last).read().strip().endswith(
            f'epoch_{epochs}.pth'):
        print(f'Reusing the teacher of {work_dir}', flush=True)
    else:
        train(osp.join(CONFIGS, config), work_dir, list(options))
    return open(last).read().strip()


def student_runs(teacher_ckpt: str, work_root: str, jobs: int) -> dict:
    """Final top-1, curve, iterations and wall time by ``(name, budget)``
    for the student alone, KD and StableKD."""
    todo = []
    for budget in BUDGETS:
        epochs = round(STUDENT_EPOCHS * budget)
        for name, config, distilled in RUNS[1:]:
            work_dir = osp.join(work_root, f'budget_{epochs}ep',
                                osp.splitext(config)[0])
            options = [f'train_cfg.max_epochs={epochs}'] + (
                    [f'model.teacher_ckpt={teacher_ckpt}']
                    if distilled else [])
            todo.append(((name, budget), config, work_dir, options))

    def one(run):
        key, config, work_dir, options = run
        seconds = train(osp.join(CONFIGS, config), work_dir, options)
        iters, curve = read_curve(work_dir)
        return key, dict(top1=curve[-1][1], curve=curve, iters=iters,
                         seconds=seconds)

    with ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, todo))


def stage_starts(iters: int) -> list:
    """Iterations at which the StableKD config's stages begin."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIGS, RUNS[-1][1]))
    begins = sorted(s['begin'] for s in cfg.recomposition.values() if s)
    return [round(b * iters) if isinstance(b, float) else b
            for b in begins][1:]


def plot(results: dict, teacher_top1: float, filename: str) -> None:
    """Left: final top-1 against budget; right: the full-budget curves with
    the recomposition stages marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = [name for name, _, _ in RUNS[1:]]
    for name in names:
        runs = [results[(name, b)] for b in BUDGETS]
        left.plot([r['iters'] for r in runs], [r['top1'] for r in runs],
                  marker='o', label=name)
        right.plot(*zip(*results[(name, BUDGETS[-1])]['curve']),
                   marker='.', label=name)
    full = results[(names[-1], BUDGETS[-1])]['iters']
    for i, start in enumerate(stage_starts(full)):
        right.axvline(start, color='grey', linestyle=':',
                      label='StableKD regroups' if i == 0 else None)
    for ax in (left, right):
        ax.axhline(teacher_top1, color='black', linewidth=0.8,
                   label='teacher')
        ax.set_ylabel('test top-1 (%)')
        ax.grid(alpha=0.3)
    left.set_xscale('log', base=2)
    left.set_xlabel('training budget (iterations)')
    left.set_title('Final top-1 against training budget')
    right.set_xlabel('training iteration (full budget)')
    right.set_title('During training')
    right.legend(loc='lower right', fontsize=8)
    fig.suptitle('Digits demo (16 px, a fifth of the training data): '
                 'ResNet-34 -> ResNet-18, both at 1/8 width')
    fig.tight_layout()
    fig.savefig(filename, dpi=110)


def report(results: dict, teacher_top1: float) -> str:
    """The Markdown table: a row per method, a column per budget."""
    iters = [results[(RUNS[1][0], b)]['iters'] for b in BUDGETS]
    lines = ['| run | ' + ' | '.join(f'{i} iterations' for i in iters) +
             ' |', '|---|' + '---:|' * len(BUDGETS)]
    for name, _, _ in RUNS[1:]:
        lines.append(f'| {name} | ' + ' | '.join(
            f'{results[(name, b)]["top1"]:.2f}' for b in BUDGETS) + ' |')
    return '\n'.join(lines + [
        '', f'The {RUNS[0][0]}, trained {TEACHER_EPOCHS} epochs on all the '
        f'training data: {teacher_top1:.2f}% top-1. One run each (seed 0): '
        'a single run is one draw, see docs/kd_grid.md for seeds.'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs in parallel (one torch thread each)')
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', str(max(
        1, len(os.sched_getaffinity(0)) // args.jobs)))
    teacher_ckpt = trained_teacher(args.work_dir)
    teacher_top1 = read_curve(osp.dirname(teacher_ckpt))[1][-1][1]
    results = student_runs(teacher_ckpt, args.work_dir, args.jobs)
    table = report(results, teacher_top1)
    print('\n' + table)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    png = osp.join(args.work_dir, 'accuracy_vs_budget.png')
    plot(results, teacher_top1, png)
    print(f'\nTable: {osp.join(args.work_dir, "results.md")}\nPlot: {png}')


if __name__ == '__main__':
    main()
