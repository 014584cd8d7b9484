"""The best StableKD variant per cell over ``benchmarks/kd_grid.py`` reports.

    python tools/analysis/grid_ceiling.py docs/kd_grid_narrow_*.md

Reads each report's "Final test top-1" table (cell means over the seeds)
and pools the reports whose KD means agree in every cell they share (the
same KD runs: one machine, one set of seeds). For each pool it prints, per
cell, KD's mean and the best StableKD variant's (picked per cell), and
over the cells the mean margin over KD of the best-per-cell and of the
default (each distinct one, when the reports come from several commits).
The best-per-cell is an upper bound on what any one variant gives,
inflated by the choice: it is picked on the same seeds it is scored on,
so with many variants it gains from their luck too.
"""
import argparse
import os.path as osp
import statistics
import sys
from typing import Dict, List, Tuple

FINAL_TABLE = '## Final test top-1'
# the columns that name a cell come before this one
FIRST_RESULT = 'student alone'

Cell = Tuple[str, ...]


def _row(line: str) -> List[str]:
    return [c.strip() for c in line.strip().strip('|').split('|')]


def read_table(path: str, heading: str) -> List[List[str]]:
    """The rows (header first) of the first Markdown table in the section of
    a report that starts with the line ``heading``."""
    with open(path) as f:
        lines = f.read().split('\n')
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(heading)), None)
    if start is None:
        raise ValueError(f'{path}: no "{heading}" table; is it a '
                         'benchmarks/kd_grid.py report?')
    rows = []
    for line in lines[start + 1:]:
        if line.startswith('## ') or rows and not line.startswith('|'):
            break
        if line.startswith('|') and not line.startswith('|---'):
            rows.append(_row(line))
    return rows


def read_report(path: str) -> Dict[Cell, Dict[str, float]]:
    """``cell -> {method: mean top-1 (%)}`` from one report's final table
    (``'KD'``, ``'student alone'``, ``'StableKD <variant>'``)."""
    rows = read_table(path, FINAL_TABLE)
    if not rows:
        return {}
    header, *rows = rows
    first = header.index(FIRST_RESULT)
    return {tuple(values[:first]): {
        method: float(value.split()[0])  # '96.57 ± 0.42', '96.57 (1 seed)'
        for method, value in zip(header[first:], values[first:])
        if value and ' - ' not in method} for values in rows}


def pools(reports: Dict[str, dict]) -> List[List[str]]:
    """The report names grouped by identical KD means in every shared
    cell, in the order given."""
    groups: List[List[str]] = []
    for name, table in reports.items():
        for group in groups:
            other = reports[group[0]]
            if all(other[c]['KD'] == table[c]['KD']
                   for c in table.keys() & other.keys()):
                group.append(name)
                break
        else:
            groups.append([name])
    return groups


def candidates(tables: Dict[str, dict]) -> Dict[str, Dict[Cell, float]]:
    """``name -> {cell: mean}`` of every StableKD variant in the pooled
    ``tables`` (report -> table). A variant whose means differ from one
    report to another (e.g. ``default`` at two commits) counts once per
    distinct set of means, named ``variant@report``."""
    found: Dict[str, List[Tuple[str, dict]]] = {}
    for report, table in tables.items():
        for method in sorted({m for values in table.values() for m in values}):
            if not method.startswith('StableKD '):
                continue
            means = {cell: values[method] for cell, values in table.items()
                     if method in values}
            seen = found.setdefault(method[len('StableKD '):], [])
            if all(means != other for _, other in seen):
                seen.append((report, means))
    return {(name if len(seen) == 1 else
             f'{name}@{osp.basename(report)}'): means
            for name, seen in found.items() for report, means in seen}


def render(groups: List[List[str]], reports: Dict[str, dict]) -> str:
    out = []
    for group in groups:
        tables = {name: reports[name] for name in group}
        kd = {cell: values['KD'] for table in tables.values()
              for cell, values in table.items()}
        variants = candidates(tables)
        out += [f'### {len(group)} report(s), {len(variants)} StableKD '
                f'variants, {len(kd)} cells', '',
                ', '.join(osp.basename(n) for n in group), '',
                '| cell | KD | best variant | its top-1 |',
                '|---|---:|---|---:|']
        margins = []
        for cell in sorted(kd, key=str):
            name, best = max(((n, m[cell]) for n, m in variants.items()
                              if cell in m), key=lambda nm: nm[1])
            margins.append(best - kd[cell])
            out.append(f'| {" ".join(cell)} | {kd[cell]:.2f} | {name} | '
                       f'{best:.2f} |')
        out += ['', '- mean over KD, the best variant per cell (chosen '
                f'after the fact): {statistics.mean(margins):+.2f}; cells '
                f'at +1 or more: {sum(m >= 1 for m in margins)} of '
                f'{len(margins)}']
        for name, means in sorted(variants.items()):
            if name.split('@')[0] == 'default' and len(means) == len(kd):
                out.append(f'- mean over KD, {name}: ' + format(
                    statistics.mean(means[c] - kd[c] for c in kd), '+.2f'))
        out.append('')
    return '\n'.join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('reports', nargs='+',
                        help='benchmarks/kd_grid.py reports (Markdown)')
    args = parser.parse_args(argv)
    reports = {path: read_report(path) for path in args.reports}
    sys.stdout.write(render(pools(reports), reports))


if __name__ == '__main__':
    main()
