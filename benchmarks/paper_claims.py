"""StableKD's three claims at small scale, on the embedded digits data.

    python benchmarks/paper_claims.py [--work-dir work_dirs/paper_claims]
        [--out docs/benchmarks.md] [--seeds 0 1 2] [--no-variants]
        [--teacher-epochs N] [--epochs N] [--cost-batch 64] [--cost-iters 20]
        [--cfg-options KEY=VALUE ...]

One pair (the digits demo, CIFAR-style ResNet-18 w32 -> w8) and one budget
(the demo's 8 epochs, validation every epoch). The teacher is trained once;
then, per seed, every run goes through tools/train.py (as the demo does;
finished runs in the work dir are reused):
the student alone, KD and StableKD on all the training data, and StableKD
and KD on a class-balanced 40% of it (ClassBalancedSubsetSampler, the same
8 epochs, the same recomposition shares). Then StableKD/KD iteration time
and peak memory side by side (benchmarks/iteration_cost.py) and the IBOE
probe (tools/analysis/iboe_probe.py). Unless --no-variants, StableKD
variants (earlier milestones, normalised features, a lower learning rate
for both KD and StableKD) run on the first seed: what was tried, reported
whatever it shows. On a shared machine, OMP_NUM_THREADS=1 is much faster
(thread contention). Writes the Markdown report and its plots (next to it).
"""
import argparse
import os
import os.path as osp
import platform
import statistics
import sys
import time

from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'tools'), osp.join(ROOT, 'tools', 'analysis'),
                osp.join(ROOT, 'benchmarks')]
import demo_digits  # noqa: E402
import iboe_probe  # noqa: E402
import iteration_cost  # noqa: E402
from heterogeneous_pairs import add_budget_options, epoch_options  # noqa: E402
from runs import train_once  # noqa: E402

CONFIG = {  # method -> demo config
    'student alone': 'resnet18-w8_digits_student.py',
    'KD': 'kd_resnet18-w32-w8_digits.py',
    'StableKD': 'stablekd_resnet18-w32-w8_digits.py',
}
FRACTION = 0.4
SUBSET = [
    'train_dataloader.sampler.type=mmstablekd.ClassBalancedSubsetSampler',
    f'train_dataloader.sampler.fraction={FRACTION}'
]
# The demo schedule's milestones (37 and 74 of 184 iterations) as shares of
# training, so that a run with fewer iterations per epoch keeps them.
SHARES = ['recomposition.half.begin=0.2', 'recomposition.merged.begin=0.4']
# name -> (method, extra options); all at the full budget and data
RUNS = {
    'student alone': ('student alone', []),
    'KD': ('KD', []),
    'StableKD': ('StableKD', []),
    f'KD, {FRACTION:.0%} data': ('KD', SUBSET),
    f'StableKD, {FRACTION:.0%} data': ('StableKD', SUBSET + SHARES),
}
VARIANTS = {
    'StableKD, milestones 10% / 20%': ('StableKD', [
        'recomposition.half.begin=0.1', 'recomposition.merged.begin=0.2'
    ]),
    'StableKD, normalised features': ('StableKD', [
        'model.feat_loss._delete_=True', 'model.feat_loss.type=FeatureMSELoss',
        'model.feat_loss.normalize=True'
    ]),
    'KD, lr 0.05': ('KD', ['optim_wrapper.optimizer.lr=0.05']),
    'StableKD, lr 0.05': ('StableKD', ['optim_wrapper.optimizer.lr=0.05']),
}


# the options that make a run a quick check rather than the benchmark
QUICK_OPTIONS = ('teacher_epochs', 'epochs', 'cost_batch', 'cost_iters',
                 'cfg_options')


def train_runs(runs: dict, seeds, teacher_ckpt: str, work_dir: str,
               extra: list = ()) -> dict:
    """``{name: [dict(seed, iters, curve, seconds), ...]}`` over seeds;
    ``extra`` options last in every run; finished runs in ``work_dir`` are
    reused."""
    results = {}
    for name, (method, options) in runs.items():
        results[name] = []
        for seed in seeds:
            run_dir = osp.join(work_dir, _slug(name), f'seed{seed}')
            opts = [f'randomness.seed={seed}'] + options
            if method != 'student alone':
                opts.append(f'model.teacher_ckpt={teacher_ckpt}')
            opts += extra
            result = train_once(
                osp.join(demo_digits.CONFIGS, CONFIG[method]), run_dir, opts,
                _curve)
            results[name].append(dict(result, seed=seed))
    return results


def _curve(run_dir: str) -> dict:
    iters, curve = demo_digits.read_curve(run_dir)
    return dict(iters=iters, curve=curve)


def option_dict(options) -> dict:
    """``KEY=VALUE`` options as a dict, typed as ``--cfg-options`` of
    tools/train.py types them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('options', nargs='*', action=DictAction)
    return parser.parse_args(list(options)).options or {}


def _slug(name: str) -> str:
    return ''.join(c if c.isalnum() else '_' for c in name).strip('_')


def _final(run: dict) -> float:
    return run['curve'][-1][1]


def _mean_std(values) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.2f} ± {spread:.2f}'


def iterations_to(run: dict, target: float):
    """First validated iteration with top-1 >= ``target``, or None."""
    return next((it for it, acc in run['curve'] if acc >= target), None)


def accuracy_table(results: dict) -> str:
    lines = ['| run | iterations | top-1 per seed (%) | top-1 mean ± std '
             '(%) | wall time per run (s) |', '|---|---:|---|---:|---:|']
    for name, runs in results.items():
        finals = [_final(r) for r in runs]
        lines.append(
            f'| {name} | {runs[0]["iters"]} | '
            f'{", ".join(f"{a:.2f}" for a in finals)} | '
            f'{_mean_std(finals)} | '
            f'{statistics.mean(r["seconds"] for r in runs):.0f} |')
    return '\n'.join(lines)


def speed_table(results: dict, names) -> str:
    """Iterations each run needs to reach KD's final top-1 of its seed."""
    targets = [_final(r) for r in results['KD']]
    lines = ['| run | iterations to reach KD\'s final top-1, per seed | '
             'reached in | mean |', '|---|---|---:|---:|']
    for name in names:
        hits = [iterations_to(r, t) for r, t in zip(results[name], targets)]
        reached = [h for h in hits if h is not None]
        mean = f'{statistics.mean(reached):.0f}' if reached else 'n/a'
        per_seed = ', '.join('not reached' if h is None else str(h)
                             for h in hits)
        lines.append(f'| {name} | {per_seed} | {len(reached)}/{len(hits)} '
                     f'seeds | {mean} |')
    return '\n'.join(lines)


def verdicts(results: dict, cost: dict) -> list:
    """``[(claim, paper, here, verdict)]``, by the rules stated in the
    report."""
    kd = [_final(r) for r in results['KD']]
    skd = [_final(r) for r in results['StableKD']]
    spread = max(statistics.stdev(kd), statistics.stdev(skd)) \
        if len(kd) > 1 else 0.0
    gain = statistics.mean(skd) - statistics.mean(kd)
    accuracy = 'holds' if gain > spread else (
        'does not hold' if gain < -spread else
        'within noise (one std)')
    hits = {
        name: [iterations_to(r, _final(k))
               for r, k in zip(results[name], results['KD'])]
        for name in ('KD', 'StableKD')
    }
    faster = all(s is not None and s < k
                 for s, k in zip(hits['StableKD'], hits['KD']))
    fewer = all(s is not None and s <= k
                for s, k in zip(hits['StableKD'], hits['KD']))
    speed = 'holds' if faster else (
        'partly (never slower, not faster in every seed)' if fewer
        else 'does not hold')
    subset = [_final(r) for r in results[f'StableKD, {FRACTION:.0%} data']]
    data = 'holds' if statistics.mean(subset) >= statistics.mean(kd) \
        else 'does not hold'
    cheap = cost['time_ratio'] <= 1.10 and cost['peak_ratio'] <= 1.15
    return [
        ('higher top-1 than KD at equal budget', '+1 to +18 points',
         f'{gain:+.2f} points (largest std {spread:.2f})', accuracy),
        ('faster convergence', 'up to 10x',
         f'iterations to KD\'s final top-1: StableKD {_hits(hits["StableKD"])}'
         f' vs KD {_hits(hits["KD"])}', speed),
        (f'StableKD on {FRACTION:.0%} of the data beats KD on 100%',
         'yes (CIFAR-100, ImageNet)',
         f'{statistics.mean(subset):.2f} vs {statistics.mean(kd):.2f} % '
         f'(means)', data),
        ('an iteration costs what a KD iteration costs',
         'same passes as KD',
         f'time x{cost["time_ratio"]:.3f}, peak memory '
         f'x{cost["peak_ratio"]:.3f}',
         'holds' if cheap else 'does not hold (targets 1.10 / 1.15)'),
    ]


def _hits(hits) -> str:
    return '/'.join('-' if h is None else str(h) for h in hits)


def plot_curves(results: dict, names, filename: str) -> None:
    """Mean test top-1 over seeds against the iteration, with the range."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name in names:
        runs = results[name]
        iters = [it for it, _ in runs[0]['curve']]
        accs = list(zip(*[[acc for _, acc in r['curve']] for r in runs]))
        mean = [statistics.mean(a) for a in accs]
        line, = ax.plot(iters, mean, marker='o', ms=3, label=name)
        ax.fill_between(iters, [min(a) for a in accs], [max(a) for a in accs],
                        color=line.get_color(), alpha=0.15)
    ax.set_xlabel('training iteration')
    ax.set_ylabel('test top-1 (%), mean and range over seeds')
    ax.set_title('Digits, ResNet-18 w32 -> w8, 8 epochs')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(filename, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/paper_claims')
    parser.add_argument('--out', default=osp.join(ROOT, 'docs',
                                                  'benchmarks.md'))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--no-variants', action='store_true')
    parser.add_argument('--epochs', type=int,
                        help="every run's training epochs, the IBOE probe's "
                        "too (default: the demo configs' 8)")
    parser.add_argument('--cost-batch', type=int, default=64,
                        help='the batch of the iteration cost measurement')
    parser.add_argument('--cost-iters', type=int, default=20,
                        help='timed iterations of the cost measurement')
    add_budget_options(parser)
    args = parser.parse_args()
    args.quick = any(getattr(args, name) != parser.get_default(name)
                     for name in QUICK_OPTIONS)
    start = time.perf_counter()
    docs = osp.dirname(osp.abspath(args.out))
    os.makedirs(docs, exist_ok=True)

    teacher = train_once(
        osp.join(demo_digits.CONFIGS, demo_digits.TEACHER),
        osp.join(args.work_dir, 'teacher'),
        epoch_options(args.teacher_epochs) + args.cfg_options, _curve)
    teacher_ckpt, teacher_top1 = teacher['ckpt'], teacher['curve'][-1][1]
    extra = epoch_options(args.epochs) + args.cfg_options
    results = train_runs(RUNS, args.seeds, teacher_ckpt, args.work_dir,
                         extra)
    variants = {} if args.no_variants else train_runs(
        VARIANTS, args.seeds[:1], teacher_ckpt, args.work_dir, extra)

    cost = iteration_cost.measure(
        osp.join(demo_digits.CONFIGS, CONFIG['StableKD']),
        batch=args.cost_batch, size=32, iters=args.cost_iters)

    probe_dir = osp.join(args.work_dir, 'iboe_probe')
    probes = {
        method: iboe_probe.probe_run(
            osp.join(demo_digits.CONFIGS, CONFIG[method]),
            osp.join(probe_dir, method.lower()), interval=8, num_batches=4,
            options={'model.teacher_ckpt': teacher_ckpt,
                     'randomness.seed': args.seeds[0],
                     **option_dict(extra)})
        for method in ('KD', 'StableKD')
    }
    iboe_probe.plot(probes['KD'], probes['StableKD'],
                    osp.join(docs, 'iboe_probe.png'))
    main_names = ['student alone', 'KD', 'StableKD']
    plot_curves(results, main_names + [f'StableKD, {FRACTION:.0%} data'],
                osp.join(docs, 'benchmark_accuracy.png'))
    minutes = (time.perf_counter() - start) / 60
    report = write_report(args, results, variants, cost, probes,
                          teacher_top1, minutes)
    with open(args.out, 'w') as f:
        f.write(report)
    print(report)


def write_report(args, results, variants, cost, probes, teacher_top1,
                 minutes) -> str:
    seeds = ' '.join(map(str, args.seeds))
    threads = os.environ.get('OMP_NUM_THREADS')
    command = (f'OMP_NUM_THREADS={threads} ' if threads else '') + \
        ' '.join(['python'] + sys.argv)
    rows = verdicts(results, cost)
    claims = '\n'.join(f'| {c} | {p} | {h} | **{v}** |' for c, p, h, v in rows)
    memory = cost['memory_mib']
    sections = [
        '# Benchmarks: the paper\'s claims at small scale\n',
        'Teacher and student of differing widths, and the alignment '
        'StableKD uses between them: '
        '[heterogeneous_pairs.md](heterogeneous_pairs.md) '
        '(`benchmarks/heterogeneous_pairs.py`).\n',
        f'Command (from the repository root, environment active):\n\n'
        f'```bash\n{command}\n```\n' + (
            '\n**A quick check, not the benchmark:** the command shrinks '
            'the budget; the set-up below describes the benchmark\'s.\n'
            if args.quick else ''),
        f'Measured on {os.cpu_count()} CPU cores (torch threads: '
        f'{cost["threads"]}; shared with other jobs), Python '
        f'{platform.python_version()}; the whole benchmark took '
        f'{minutes:.0f} minutes.\n',
        '**Set-up.** Data: the embedded digits (1,437 train / 360 test '
        'images, 10 classes, 32x32). Teacher: CIFAR-style ResNet-18 at half '
        f'width, trained once (8 epochs, test top-1 {teacher_top1:.2f}%). '
        'Student: the same at 1/8 width. Budget: the demo\'s, 8 epochs of '
        'batch 64 (184 iterations on all the data), SGD lr 0.1 with cosine '
        'decay; KD T=4 with CE 0.1 / KD 0.9; StableKD decomposed for the '
        'first 20% of training, half-merged for the next 20%, end-to-end '
        f'after, feature MSE at the student\'s width. Seeds {seeds} '
        '(initialisation and data order); test top-1 after the last epoch. '
        'Every run is `tools/train.py` on a shipped demo config with '
        '`--cfg-options randomness.seed=S` (and the options named below).\n',
        '## Verdicts\n',
        '| claim | paper | here | at this scale |\n|---|---|---|---|\n'
        + claims + '\n',
        'Rules: accuracy holds if StableKD\'s mean exceeds KD\'s by more '
        'than the larger of the two standard deviations (and fails if it '
        'is lower by as much); convergence holds if StableKD reaches the '
        'final top-1 of KD with the same seed in fewer iterations in every '
        'seed; data efficiency holds if StableKD\'s mean on 40% is at least '
        'KD\'s mean on 100%; cost holds within the targets of '
        '`benchmarks/iteration_cost.py` (time x1.10, memory x1.15).\n',
        '## 1. Top-1 at equal budget\n',
        accuracy_table(results) + '\n',
        '![accuracy](benchmark_accuracy.png)\n',
        '## 2. Iterations to reach KD\'s final top-1\n',
        'Target: the final top-1 of KD with the same seed. Validation runs '
        'once per epoch, so iterations are counted at epoch resolution '
        '(23 iterations on all the data, 9 on 40%).\n',
        speed_table(results, ['KD', 'StableKD', 'student alone']) + '\n',
        f'## 3. Data efficiency: {FRACTION:.0%} of the training data\n',
        f'`--cfg-options {" ".join(SUBSET)}`: a class-balanced, seeded '
        f'{FRACTION:.0%} of every class (the same subset for every seed), '
        f'the same 8 epochs (so {FRACTION:.0%} of the iterations); '
        f'StableKD\'s milestones kept as shares of training '
        f'(`{" ".join(SHARES)}`). KD on 40% is a reference.\n',
        accuracy_table({k: results[k] for k in (
            'KD', f'StableKD, {FRACTION:.0%} data',
            f'KD, {FRACTION:.0%} data')}) + '\n',
        '## 4. Cost of an iteration, side by side\n',
        '`benchmarks/iteration_cost.py --config '
        f'configs/demo/stablekd_resnet18-w32-w8_digits.py` (batch '
        f'{args.cost_batch}, {args.cost_iters} timed iterations alternating '
        'KD and StableKD\'s decomposed grouping; memory: peak resident '
        'memory of each in a fresh process).\n',
        '| grouping | median iteration (s) | peak RSS growth (MiB) | '
        'peak RSS (MiB) |\n|---|---:|---:|---:|\n' + '\n'.join(
            f'| {name} {cost["groupings"][name]} | '
            f'{cost["median_iter_s"][name]:.4f} | '
            f'{memory[name]["peak_growth_mib"]:.0f} | '
            f'{memory[name]["peak_mib"]:.0f} |' for name in ('KD', 'StableKD'))
        + f'\n\nStableKD / KD: iteration time x{cost["time_ratio"]:.3f}, '
        f'peak RSS growth x{cost["growth_ratio"]:.3f}, peak RSS '
        f'x{cost["peak_ratio"]:.3f}.\n',
        '## 5. IBOE probe\n',
        '`tools/analysis/iboe_probe.py` (KD and StableKD, seed '
        f'{args.seeds[0]}, probed every 8 iterations on 4 fixed batches; '
        'see `mmstablekd.IBOEProbeHook`). Medians over the probes of each '
        'StableKD stage; (yes) where StableKD is on the side the claim '
        'predicts.\n',
        iboe_probe.markdown(probes['KD'], probes['StableKD']) + '\n',
        '![IBOE probe](iboe_probe.png)\n',
    ]
    if variants:
        sections += [
            '## What else was tried\n',
            f'Seed {args.seeds[0]} only (the time budget), the same budget, '
            f'one change each (named by its `--cfg-options`); reported '
            f'whatever they show, not used for the verdicts above.\n',
            '| variant | options |\n|---|---|\n' + '\n'.join(
                f'| {name} | `{" ".join(opts)}` |'
                for name, (_, opts) in VARIANTS.items()) + '\n',
            accuracy_table(variants) + '\n',
        ]
    sections += ['## Closing note\n', closing_note(rows, results, variants)]
    return '\n'.join(sections)


def closing_note(rows, results, variants) -> str:
    """The verdicts in words, and what the variants changed."""
    held = [claim for claim, _, _, verdict in rows if verdict == 'holds']
    missed = [f'{claim} ({verdict})' for claim, _, _, verdict in rows
              if verdict != 'holds']
    note = [f'At this scale (one small pair, {len(results["KD"])} seeds, '
            f'the demo\'s budget fixed before any run) '
            + (f'these hold: {"; ".join(held)}. ' if held else
               'none of the claims holds. ')
            + (f'These do not: {"; ".join(missed)}.' if missed else '')]
    if variants:
        kd = statistics.mean(_final(r) for r in results['KD'])
        tried = ', '.join(
            f'{name} {statistics.mean(_final(r) for r in runs):.2f}%'
            for name, runs in variants.items())
        note.append(f'Variants (mean top-1; KD at the defaults {kd:.2f}%): '
                    f'{tried}.')
    return '\n\n'.join(note) + '\n'


if __name__ == '__main__':
    main()
