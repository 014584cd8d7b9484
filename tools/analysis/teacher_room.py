"""StableKD's margin over KD against the room its teacher leaves, per cell.

    python tools/analysis/teacher_room.py docs/kd_grid_narrow_t45_5seeds.md \
        docs/kd_grid_narrow_own_5seeds.md:own --plot /tmp/room.png

For every cell of the ``benchmarks/kd_grid.py`` reports given (each
``PATH[:VARIANT]``: the StableKD variant to read, ``default`` unless
named), in points of top-1: the *room*, its teacher's top-1 minus KD's
mean, and the *margin*, StableKD's mean minus KD's. Prints both per cell,
and per report and over all the cells: their means, the share of the
room StableKD takes (least squares through the origin: margin ~ share x
room) and their correlation. ``--by COLUMN ...`` also fits the cells
grouped by each named column of the reports' table (e.g. ``ratio``,
``lr``, ``data``), level by level; ``--plot`` draws margin against room.
"""
import argparse
import os.path as osp
import re
import statistics
import sys
from typing import Dict, List, Tuple

from grid_ceiling import (FINAL_TABLE, FIRST_RESULT, Cell, read_report,
                          read_table)

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


def cell_columns(path: str) -> List[str]:
    """The names of the columns that name a cell in a report's table."""
    header = read_table(path, FINAL_TABLE)[0]
    return header[:header.index(FIRST_RESULT)]


def by_column(found: Dict[str, list], column: str) -> List[str]:
    """Table rows: the fit of the cells at each level of ``column``."""
    levels: Dict[str, list] = {}
    for spec, rows in found.items():
        columns = cell_columns(spec.partition(':')[0])
        if column not in columns:
            raise ValueError(f'{spec}: no column "{column}"; its cells are '
                             f'named by {columns}')
        index = columns.index(column)
        for cell, room, margin in rows:
            levels.setdefault(cell[index], []).append((room, margin))
    return ['| {} | {} | {} | {:+.2f} | {:+.2f} | {:.2f} | {:.2f} |'.format(
        column, level, *fit(points))
        for level, points in sorted(levels.items())]


def share_of_room(points: List[Tuple[float, float]]) -> float:
    """The least-squares slope through the origin of ``(room, margin)``
    points: margin ~ share x room."""
    squares = sum(r * r for r, _ in points)
    return (sum(r * m for r, m in points) / squares if squares
            else float('nan'))


def fit(points: List[Tuple[float, float]]) -> Tuple[int, float, float,
                                                    float, float]:
    """The number of points, the means of room and margin, the share of
    the room taken and the correlation."""
    rooms, margins = zip(*points)
    corr = (statistics.correlation(rooms, margins) if len(points) > 2
            and len(set(rooms)) > 1 and len(set(margins)) > 1 else
            float('nan'))
    return (len(points), statistics.mean(rooms), statistics.mean(margins),
            share_of_room(points), corr)


def fit_line(points: List[Tuple[float, float]]) -> str:
    """:func:`fit` as one line."""
    return ('{} cells, room {:+.2f}, margin {:+.2f}, share of the room '
            'taken {:.2f}, correlation {:.2f}'.format(*fit(points)))


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
    parser.add_argument('--by', nargs='+', default=[], metavar='COLUMN',
                        help='also fit the cells level by level of these '
                        'columns of the reports\' table, e.g. ratio lr')
    parser.add_argument('--plot', help='write margin against room here')
    args = parser.parse_args(argv)
    found = {spec: room_and_margin(spec) for spec in args.reports}
    out = ['| report | cell | room | margin |', '|---|---|---:|---:|']
    out += [f'| {osp.basename(spec)} | {" ".join(cell)} | {room:+.2f} | '
            f'{margin:+.2f} |'
            for spec, rows in found.items() for cell, room, margin in rows]
    out += [''] + [f'- {osp.basename(spec)}: '
                   + fit_line([(r, m) for _, r, m in rows])
                   for spec, rows in found.items()]
    out.append('- all: ' + fit_line([(r, m) for rows in found.values()
                                     for _, r, m in rows]))
    if args.by:
        out += ['', '| column | level | cells | room | margin | share of '
                'the room | correlation |', '|---|---|' + '---:|' * 5]
        out += [row for column in args.by for row in by_column(found, column)]
    sys.stdout.write('\n'.join(out) + '\n')
    if args.plot:
        plot(found, args.plot)


if __name__ == '__main__':
    main()
