"""tools/analysis/grid_ceiling.py on reports whose tables
benchmarks/kd_grid.py's own ``summarise`` writes (made-up results)."""
import os.path as osp
import sys

import pytest

import benchmark_helpers  # noqa: F401 (puts benchmarks/ on the path)
import kd_grid
from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import grid_ceiling  # noqa: E402

CELLS = kd_grid.cells('narrow')[:2]


def write_report(path, kd, stablekd):
    """A report with the final table of ``kd`` (one mean for every cell)
    and ``stablekd`` (variant -> per-cell top-1), one seed."""
    results = {}
    for i, cell in enumerate(CELLS):
        results[(kd_grid.alone_name(cell), 'student alone', 0)] = {
            'top1': 50.}
        results[(kd_grid.cell_name(cell), 'KD', 0)] = {'top1': kd}
        for variant, top1 in stablekd.items():
            results[(kd_grid.cell_name(cell), f'StableKD {variant}', 0)] = {
                'top1': top1[i]}
    table, _ = kd_grid.summarise(CELLS, results, list(stablekd), {})
    path.write_text(f'# a report\n\n## Final test top-1 (%), mean ± std '
                    f'over seeds [0]\n\n{table}\n\n## next\n')
    return str(path)


def test_pools_reports_with_the_same_kd_and_picks_the_best_per_cell(
        tmp_path, capsys):
    first = write_report(tmp_path / 'a.md', 90.,
                         {'default': [92., 92.], 'a': [95., 91.]})
    second = write_report(tmp_path / 'b.md', 90.,
                          {'default': [92., 92.], 'b': [93., 96.]})
    # other KD runs (another machine): a pool of its own, whose default
    # differs from the first two's
    other = write_report(tmp_path / 'c.md', 80., {'default': [81., 83.]})
    grid_ceiling.main([first, second, other])
    out = capsys.readouterr().out.split('### ')[1:]
    assert out[0].startswith('2 report(s), 3 StableKD variants, 2 cells')
    # the best per cell: 'a' (95) in the first, 'b' (96) in the second
    assert '| a | 95.00 |' in out[0] and '| b | 96.00 |' in out[0]
    assert 'chosen after the fact): +5.50; cells at +1 or more: 2 of 2' \
        in out[0]
    assert '- mean over KD, default: +2.00' in out[0]
    assert out[1].startswith('1 report(s), 1 StableKD variants, 2 cells')
    assert 'chosen after the fact): +2.00' in out[1]


def test_a_variant_that_changed_between_reports_counts_once_per_version(
        tmp_path, capsys):
    old = write_report(tmp_path / 'old.md', 90., {'default': [91., 91.]})
    new = write_report(tmp_path / 'new.md', 90., {'default': [93., 92.]})
    grid_ceiling.main([old, new])
    out = capsys.readouterr().out
    assert '2 StableKD variants' in out
    assert '- mean over KD, default@old.md: +1.00' in out
    assert '- mean over KD, default@new.md: +2.50' in out


def test_a_file_without_the_final_table_is_named(tmp_path):
    page = tmp_path / 'notes.md'
    page.write_text('# not a report\n')
    with pytest.raises(ValueError, match='notes.md: no "## Final test'):
        grid_ceiling.main([str(page)])
