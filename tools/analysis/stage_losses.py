"""What the losses did in each recomposition stage of finished runs.

    python tools/analysis/stage_losses.py RUN_DIR [RUN_DIR ...] \
        [--keys loss_cls loss_bbox] [--at 0 1] [--out REPORT.md]

Reads each run's training log (the newest ``<timestamp>/vis_data/
scalars.json`` under RUN_DIR, as MMEngine's ``LocalVisBackend`` writes it,
with ``recomposition_stage`` logged by ``RecompositionHook``) and prints a
Markdown table: per stage, its logged iterations and each key at the stage's
first and last logged iteration, the mean over the runs given (e.g. the
seeds of one method); a run without stages (a KD baseline) is one row,
``-``. A key a stage does not log (a boundary loss once its blocks merged)
is left blank. Shows, e.g., whether the detection loss of the
composed student rises or falls once the blocks are merged; ``--at 0 0.5
0.75 1`` adds points within each stage (shares of its logged iterations),
e.g. whether the block losses still fall late in the decomposed stage.
"""
import argparse
import statistics
import sys
from typing import Dict, List, Sequence


def training_log(run_dir: str) -> List[dict]:
    """The training entries (those with ``loss``) of ``run_dir``'s newest
    log."""
    from mmstablekd.utils import logged_scalars
    return [e for e in logged_scalars(run_dir) if 'loss' in e]


def by_stage(entries: List[dict]) -> Dict[str, List[dict]]:
    """Training entries grouped by ``recomposition_stage``, in order; a
    run without ``RecompositionHook`` (e.g. a KD baseline, to compare
    with) is one stage, ``-``."""
    stages = {}
    for entry in entries:
        stage = entry.get('recomposition_stage')
        stages.setdefault('-' if stage is None else str(int(stage)),
                          []).append(entry)
    return stages


def _mean(values: list) -> str:
    values = [v for v in values if v is not None]
    return f'{statistics.mean(values):.3f}' if values else ''


def _point_name(share: float) -> str:
    """A column's point in its stage: ``first``, ``last`` or ``at 50%``."""
    return {0: 'first', 1: 'last'}.get(share, f'at {share:.0%}')


def _at(span: List[dict], share: float) -> dict:
    """The logged entry ``share`` of the way through ``span``."""
    return span[round(share * (len(span) - 1))]


def stage_table(run_dirs: List[str], keys: List[str],
                points: Sequence[float] = (0, 1)) -> str:
    """The Markdown table: a row per stage, the mean over ``run_dirs`` of
    each key at each of ``points`` (shares of the stage's logged
    iterations: 0 its first, 1 its last)."""
    runs = [by_stage(training_log(d)) for d in run_dirs]
    header = ['stage', 'logged iterations'] + [
        f'{key} {_point_name(at)}' for key in keys for at in points]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|---|---|' + '---:|' * (len(points) * len(keys))]
    for stage in sorted({s for run in runs for s in run}):
        spans = [run[stage] for run in runs if stage in run]
        iters = f'{spans[0][0]["iter"]}-{spans[0][-1]["iter"]}'
        cells = [_mean([_at(span, at).get(key) for span in spans])
                 for key in keys for at in points]
        lines.append(f'| {stage} | {iters} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('run_dirs', nargs='+')
    parser.add_argument('--keys', nargs='+',
                        default=['loss_cls', 'loss_bbox'])
    parser.add_argument('--at', nargs='+', type=float, default=[0, 1],
                        help='points within each stage, as shares of its '
                        'logged iterations (0: first, 1: last)')
    parser.add_argument('--out', help='also write the table here')
    args = parser.parse_args(argv)
    if not all(0 <= at <= 1 for at in args.at):
        parser.error(f'--at takes shares of a stage in [0, 1], got '
                     f'{args.at}.')
    try:
        table = stage_table(args.run_dirs, args.keys, args.at)
    except FileNotFoundError as err:
        parser.error(str(err))
    print(f'{len(args.run_dirs)} runs: {" ".join(args.run_dirs)}\n')
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table)


if __name__ == '__main__':
    sys.exit(main())
