"""StableKD's margin over KD against the room its teacher leaves, per cell.

    python tools/analysis/teacher_room.py docs/kd_grid_narrow_t45_5seeds.md \
        docs/kd_grid_narrow_own_5seeds.md:own --plot /tmp/room.png

For every cell of the ``benchmarks/kd_grid.py`` reports given (each
``PATH[:VARIANT]``: the StableKD variant to read, ``default`` unless
named), in points of top-1: the *room*, its teacher's top-1 minus KD's
mean, and the *margin*, StableKD's mean minus KD's. Prints both per cell,
and per report and over all the cells: their means, the share of the
room StableKD takes (least squares through the origin: margin ~ share x
room) and their correlation. ``--plot`` draws margin against room.
"""
import argparse
import os.path as osp
import re
import statistics
import sys
from typing import Dict, List, Tuple

from grid_ceiling import Cell, read_report, read_table

TEACHERS_HEADING = 'Teachers (test top-1'
TEACHER_NAME = re.compile(r'teacher_r(\d+)_w(\d+)_s(\d+)$')


def read_teachers(path: str) -> Dict[Tuple[int, int, int], float]:
    """``(depth, base width, input size) -> top-1 (%)`` from a report's
    teachers table."""
    teachers = {}
    for name, top1 in read_table(path, TEACHERS_HEADING)[1:]:
        match = TEACHER_NAME.search(name)
        if match:
            teachers[tuple(map(int, match.groups()))] = float(top1)
    return teachers


def cell_teacher(cell: Cell) -> Tuple[int, int, int]:
    """The teacher key of a report row's cell columns (teacher, ratio,
    student width, size, ...)."""
    depth, ratio, width, size = cell[:4]
    return (int(depth.split('-')[1]), round(int(width) / float(ratio)),
            int(size))


def room_and_margin(spec: str) -> List[Tuple[Cell, float, float]]:
    """``(cell, room, margin)`` of every cell of ``PATH[:VARIANT]`` that
    ran the variant."""
    path, _, variant = spec.partition(':')
    method = f'StableKD {variant or "default"}'
    table, teachers = read_report(path), read_teachers(path)
    rows = [(cell, teachers[cell_teacher(cell)] - means['KD'],
             means[method] - means['KD'])
            for cell, means in table.items() if method in means]
    if not rows:
        raise ValueError(f'{path}: no cell ran "{method}"; name the variant '
                         'as PATH:VARIANT')
    return rows


def share_of_room(points: List[Tuple[float, float]]) -> float:
    """The least-squares slope through the origin of ``(room, margin)``
    points: margin ~ share x room."""
    return sum(r * m for r, m in points) / sum(r * r for r, _ in points)


def fit(points: List[Tuple[float, float]]) -> str:
    """Means of room and margin, the share of the room taken and the
    correlation, as one line."""
    rooms, margins = zip(*points)
    share = share_of_room(points)
    corr = (statistics.correlation(rooms, margins) if len(points) > 2
            and len(set(rooms)) > 1 and len(set(margins)) > 1 else
            float('nan'))
    return (f'{len(points)} cells, room {statistics.mean(rooms):+.2f}, '
            f'margin {statistics.mean(margins):+.2f}, share of the room '
            f'taken {share:.2f}, correlation {corr:.2f}')


def plot(found: Dict[str, list], filename: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for spec, rows in found.items():
        ax.scatter([r for _, r, _ in rows], [m for _, _, m in rows],
                   s=18, label=osp.basename(spec))
    every = [(r, m) for rows in found.values() for _, r, m in rows]
    top = max(r for r, _ in every)
    share = share_of_room(every)
    ax.plot([0, top], [0, top], 'k:', lw=1, label='all the room')
    ax.plot([0, top], [0, share * top], 'k-', lw=1,
            label=f'fit: {share:.2f} of the room')
    ax.axhline(0, color='grey', lw=0.5)
    ax.axvline(0, color='grey', lw=0.5)
    ax.set_xlabel('room: teacher top-1 - KD (points)')
    ax.set_ylabel('margin: StableKD - KD (points)')
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(filename, dpi=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('reports', nargs='+', metavar='PATH[:VARIANT]',
                        help='benchmarks/kd_grid.py reports (Markdown)')
    parser.add_argument('--plot', help='write margin against room here')
    args = parser.parse_args(argv)
    found = {spec: room_and_margin(spec) for spec in args.reports}
    out = ['| report | cell | room | margin |', '|---|---|---:|---:|']
    out += [f'| {osp.basename(spec)} | {" ".join(cell)} | {room:+.2f} | '
            f'{margin:+.2f} |'
            for spec, rows in found.items() for cell, room, margin in rows]
    out += [''] + [f'- {osp.basename(spec)}: '
                   + fit([(r, m) for _, r, m in rows])
                   for spec, rows in found.items()]
    out.append('- all: ' + fit([(r, m) for rows in found.values()
                                for _, r, m in rows]))
    sys.stdout.write('\n'.join(out) + '\n')
    if args.plot:
        plot(found, args.plot)


if __name__ == '__main__':
    main()
