"""The embedded demo: teacher, student alone, KD and StableKD on the digits.

Every run goes through ``tools/train.py`` as a user would run it. Afterwards
a table (top-1, iterations, wall time) is printed and written, with an
accuracy-vs-iteration plot, into the work dir:

    python tools/demo_digits.py [--work-dir work_dirs/demo]
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = 'resnet18-w32_digits_teacher.py'
RUNS = [  # (name, config, distilled from the teacher)
    ('teacher (ResNet-18 w32)', TEACHER, False),
    ('student alone (ResNet-18 w8)', 'resnet18-w8_digits_student.py', False),
    ('KD', 'kd_resnet18-w32-w8_digits.py', True),
    ('StableKD', 'stablekd_resnet18-w32-w8_digits.py', True),
]


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


def train_runs(runs: list, configs: str, teacher: str, work_root: str):
    """Train ``runs`` (``(name, config, distilled)``, the teacher first) in
    order, the distilled ones from the teacher's last checkpoint; yields
    ``(name, work_dir, wall seconds)`` after each."""
    teacher_ckpt = None
    for name, config, distilled in runs:
        work_dir = osp.join(work_root, osp.splitext(config)[0])
        options = [f'model.teacher_ckpt={teacher_ckpt}'] if distilled else []
        seconds = train(osp.join(configs, config), work_dir, options)
        if config == teacher:
            teacher_ckpt = open(osp.join(work_dir,
                                         'last_checkpoint')).read().strip()
        yield name, work_dir, seconds


def read_curve(work_dir: str):
    """(iterations, [(iteration, top-1)]) of a finished run."""
    import torch
    import mmstablekd  # noqa: F401  (safe loading of MMEngine checkpoints)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    meta = torch.load(ckpt, map_location='cpu', weights_only=True)['meta']
    iters_per_epoch = meta['iter'] / meta['epoch']
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(path)]
    curve = [(round(r['step'] * iters_per_epoch), r['accuracy/top1'])
             for r in rows if 'accuracy/top1' in r]
    return meta['iter'], curve


def plot(curves: dict, filename: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(*zip(*curve), marker='o', label=name)
    ax.set_xlabel('training iteration')
    ax.set_ylabel('test top-1 (%)')
    ax.set_title('Digits demo: distilling ResNet-18 w32 into w8')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(filename, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    args = parser.parse_args()
    table, curves = [], {}
    for name, work_dir, seconds in train_runs(RUNS, CONFIGS, TEACHER,
                                              args.work_dir):
        iters, curve = read_curve(work_dir)
        curves[name] = curve
        table.append((name, curve[-1][1], iters, seconds))

    lines = ['| run | top-1 (%) | iterations | wall time (s) |',
             '|---|---:|---:|---:|']
    lines += [f'| {n} | {acc:.2f} | {it} | {s:.0f} |'
              for n, acc, it, s in table]
    report = '\n'.join(lines)
    print('\n' + report)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(report + '\n')
    png = osp.join(args.work_dir, 'accuracy_vs_iteration.png')
    plot(curves, png)
    print(f'\nTable: {osp.join(args.work_dir, "results.md")}\nPlot: {png}')


if __name__ == '__main__':
    main()
