"""The validation metric at every validation of finished runs, per method.

    python tools/analysis/val_curve.py --runs NAME RUN_DIR [RUN_DIR ...] \
        [--runs NAME RUN_DIR ...] [--metric coco/bbox_mAP] [> REPORT.md]

Reads each run's newest log (``<timestamp>/vis_data/scalars.json``, as
MMEngine's ``LocalVisBackend`` writes it) and prints a Markdown table: a row
per validated epoch, a column per ``--runs`` group (e.g. a method's seeds)
with the metric's mean ± std over its runs and, for a StableKD run, the
recomposition stage that was training when the epoch ended (``stage k``,
as ``RecompositionHook`` logs it on the epoch's last logged iteration).
Run with ``train_cfg.val_interval=1``, it shows the composed student of
every stage: where StableKD's margin over a KD baseline is made or lost.
"""
import argparse
import statistics
import sys
from typing import Dict, List, NamedTuple, Optional


class Validation(NamedTuple):
    """One validation: after ``epoch`` epochs, the last logged training
    iteration ``iter`` (1-based) in recomposition ``stage`` (None without
    stages), the metric's ``value``."""
    epoch: int
    iter: int
    stage: Optional[int]
    value: float


def validations(run_dir: str, metric: str) -> List[Validation]:
    """Every validation of ``run_dir``'s newest log that reports
    ``metric``, in order."""
    from mmstablekd.utils import logged_scalars
    found, last = [], None
    for row in logged_scalars(run_dir):
        if 'loss' in row:
            last = row
        elif metric in row and last is not None:
            stage = last.get('recomposition_stage')
            found.append(Validation(
                int(row['step']), int(last['iter']),
                None if stage is None else int(stage), float(row[metric])))
    return found


def _cell(found: List[Validation]) -> str:
    values = [v.value for v in found]
    text = f'{statistics.mean(values):.3f}'
    if len(values) > 1:
        text += f' ± {statistics.stdev(values):.3f}'
    stages = {v.stage for v in found} - {None}
    if stages:
        text += ' (stage ' + '/'.join(map(str, sorted(stages))) + ')'
    return text


def curve_table(groups: Dict[str, List[str]], metric: str) -> str:
    """The Markdown table: a row per epoch validated in any run, a column
    per group (name -> run dirs), blank where a group has no validation."""
    by_group = {name: [validations(d, metric) for d in dirs]
                for name, dirs in groups.items()}
    if not any(found for runs in by_group.values() for found in runs):
        raise ValueError(
            f'no validation reports {metric}: run with '
            f'train_cfg.val_interval=1, or name a metric the log has '
            f'(--metric).')
    epochs = sorted({v.epoch for runs in by_group.values()
                     for found in runs for v in found})
    lines = ['| epoch | last logged iteration | ' + ' | '.join(groups) + ' |',
             '|---:|---:|' + '---:|' * len(groups)]
    for epoch in epochs:
        cells, iters = [], set()
        for runs in by_group.values():
            at = [v for found in runs for v in found if v.epoch == epoch]
            iters.update(v.iter for v in at)
            cells.append(_cell(at) if at else '')
        lines.append(f'| {epoch} | {"/".join(map(str, sorted(iters)))} | '
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', nargs='+', action='append', required=True,
                        metavar=('NAME', 'RUN_DIR'),
                        help='a column: its name, then its runs\' work dirs')
    parser.add_argument('--metric', default='coco/bbox_mAP')
    args = parser.parse_args(argv)
    groups = {}
    for name, *dirs in args.runs:
        if not dirs:
            parser.error(f'--runs {name}: give the runs\' work dirs after '
                         f'the name.')
        groups[name] = dirs
    try:
        print(curve_table(groups, args.metric), end='')
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))


if __name__ == '__main__':
    sys.exit(main())
