"""Probe inter-block optimisation entanglement: end-to-end KD vs StableKD.

    python tools/analysis/iboe_probe.py [KD_CONFIG STABLEKD_CONFIG]
        [--work-dir work_dirs/iboe_probe] [--interval 8] [--num-batches 4]
        [--cfg-options model.teacher_ckpt=... randomness.seed=0 ...]

Trains both configs (default: the digits demo pair, whose teacher
``tools/train.py configs/demo/resnet18-w32_digits_teacher.py`` writes) in
MMEngine Runners with ``mmstablekd.IBOEProbeHook``, so both are probed at
the same iterations on the same batches, then writes per block and per
StableKD stage the median gradient noise, update cosine and input drift of
both runs (``iboe_probe.md``) and their curves (``iboe_probe.png``).
"""
import argparse
import json
import os.path as osp
import statistics

from mmengine.config import Config, DictAction
from mmstablekd.utils import build_runner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo')
FIGURES = {  # name -> (title, what StableKD's claim predicts)
    'grad_noise': ('gradient noise tr(Var g) / ‖E g‖²', 'lower'),
    'update_cos': ('cosine of consecutive updates', 'higher'),
    'input_drift': ('input drift between probes', 'lower'),
}


def probe_run(config: str, work_dir: str, interval: int, num_batches: int,
              options: dict = None) -> dict:
    """Train ``config`` with an IBOEProbeHook, built as tools/train.py
    builds it (:func:`~mmstablekd.utils.build_runner`: in the runner it
    names; ``mmstablekd.PortableRunner`` hands the declared
    ``recomposition`` to the ``RecompositionHook``); return its JSON
    records."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='mmstablekd.IBOEProbeHook', interval=interval,
             num_batches=num_batches)
    ]
    build_runner(cfg).train()
    with open(osp.join(work_dir, 'iboe_probe.json')) as f:
        return json.load(f)


def stages(stablekd: dict):
    """``[(groups, [iter, ...]), ...]``: StableKD's probed iterations, cut
    where its grouping changes."""
    segments = []
    for record in stablekd['records']:
        if not segments or segments[-1][0] != record['groups']:
            segments.append((record['groups'], []))
        segments[-1][1].append(record['iter'])
    return segments


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(kd: dict, stablekd: dict) -> dict:
    """``{(stage index, block): {figure: (KD median, StableKD median)}}``
    over the iterations probed in both runs."""
    by_iter = [{r['iter']: r['blocks'] for r in run['records']}
               for run in (kd, stablekd)]
    table = {}
    for s, (_, iters) in enumerate(stages(stablekd)):
        iters = [i for i in iters if i in by_iter[0]]
        num_blocks = len(by_iter[1][iters[0]])
        for b in range(num_blocks):
            table[s, b] = {
                name: tuple(_median([run[i][b][name] for i in iters])
                            for run in by_iter)
                for name in FIGURES
            }
    return table


def markdown(kd: dict, stablekd: dict) -> str:
    """The comparison table (medians over the probes of each stage)."""
    segments = stages(stablekd)
    table = summary(kd, stablekd)
    head = ' | '.join(f'{FIGURES[n][0]} ({FIGURES[n][1]} expected) '
                      f'KD / StableKD' for n in FIGURES)
    lines = [f'| StableKD groups (iterations) | block | {head} |',
             '|---|---:|' + '---:|' * len(FIGURES)]
    for (s, b), figures in table.items():
        groups, iters = segments[s]
        cells = []
        for name, (ours_kd, ours) in figures.items():
            mark = ''
            if ours_kd is not None and ours is not None and ours != ours_kd:
                better = ours < ours_kd if FIGURES[name][1] == 'lower' \
                    else ours > ours_kd
                mark = ' (yes)' if better else ' (no)'
            cells.append(f'{_fmt(ours_kd)} / {_fmt(ours)}{mark}')
        stage = f'{groups} ({iters[0]}-{iters[-1]})' if b == 0 else ''
        lines.append(f'| {stage} | {b} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _fmt(value) -> str:
    return 'n/a' if value is None else f'{value:.3g}'


def plot(kd: dict, stablekd: dict, filename: str) -> None:
    """One panel per figure and block: both runs against the iteration,
    with StableKD's stage changes marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    num_blocks = len(kd['records'][0]['blocks'])
    fig, axes = plt.subplots(len(FIGURES), num_blocks, sharex=True,
                             figsize=(3 * num_blocks, 2.4 * len(FIGURES)),
                             squeeze=False)
    changes = [iters[0] for _, iters in stages(stablekd)[1:]]
    for row, name in enumerate(FIGURES):
        for b in range(num_blocks):
            ax = axes[row][b]
            for label, run in (('KD', kd), ('StableKD', stablekd)):
                points = [(r['iter'], r['blocks'][b][name])
                          for r in run['records']
                          if r['blocks'][b][name] is not None]
                if points:
                    ax.plot(*zip(*points), marker='.', label=label)
            for x in changes:
                ax.axvline(x, color='grey', lw=0.8, ls='--')
            if name == 'grad_noise':
                ax.set_yscale('log')
            ax.set_title(f'block {b}: {name}', fontsize=9)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel('iteration')
    axes[0][0].legend(fontsize=8)
    fig.suptitle('IBOE probe (dashed: StableKD stage changes)', fontsize=10)
    fig.tight_layout()
    fig.savefig(filename, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('kd_config', nargs='?',
                        default=osp.join(DEMO, 'kd_resnet18-w32-w8_digits.py'))
    parser.add_argument(
        'stablekd_config', nargs='?',
        default=osp.join(DEMO, 'stablekd_resnet18-w32-w8_digits.py'))
    parser.add_argument('--work-dir', default='work_dirs/iboe_probe')
    parser.add_argument('--interval', type=int, default=8)
    parser.add_argument('--num-batches', type=int, default=4)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='applied to both configs')
    args = parser.parse_args()
    runs = {}
    for name, config in (('kd', args.kd_config),
                         ('stablekd', args.stablekd_config)):
        runs[name] = probe_run(config, osp.join(args.work_dir, name),
                               args.interval, args.num_batches,
                               args.cfg_options)
    table = markdown(runs['kd'], runs['stablekd'])
    with open(osp.join(args.work_dir, 'iboe_probe.md'), 'w') as f:
        f.write(table + '\n')
    png = osp.join(args.work_dir, 'iboe_probe.png')
    plot(runs['kd'], runs['stablekd'], png)
    print(table + f'\n\nTable: {osp.join(args.work_dir, "iboe_probe.md")}'
          f'\nPlot: {png}')


if __name__ == '__main__':
    main()
