"""tools/analysis/teacher_room.py on reports written with
benchmarks/kd_grid.py's own ``summarise`` and ``teachers_table`` (made-up
results)."""
import os.path as osp
import sys

import pytest

import benchmark_helpers  # noqa: F401 (puts benchmarks/ on the path)
import kd_grid
from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import teacher_room  # noqa: E402

# two cells with different teachers (R-34 w16 and R-34 w8, at 16 px)
CELLS = [kd_grid.cells('narrow')[i] for i in (0, 4)]


def write_report(path, teacher_top1, kd, stablekd, variant='default'):
    """A report of ``CELLS``, one seed: per cell its teacher's top-1, KD's
    and StableKD's (``variant``)."""
    assert len({kd_grid.cell_teacher(c) for c in CELLS}) == len(CELLS)
    results, teachers = {}, {}
    for cell, t, k, s in zip(CELLS, teacher_top1, kd, stablekd):
        name = kd_grid.cell_name(cell)
        results[(kd_grid.alone_name(cell), 'student alone', 0)] = {
            'top1': 50.}
        results[(name, 'KD', 0)] = {'top1': k}
        results[(name, f'StableKD {variant}', 0)] = {'top1': s}
        teachers[kd_grid.cell_teacher(cell)] = {'top1': t}
    table, _ = kd_grid.summarise(CELLS, results, [variant], teachers)
    path.write_text(f'# a report\n\n{kd_grid.teachers_table(teachers, 15)}'
                    f'\n\n## Targets\n\n## Final test top-1 (%), mean ± std '
                    f'over seeds [0]\n\n{table}\n\n## next\n')
    return str(path)


def test_room_margin_and_the_share_of_the_room_taken(tmp_path, capsys):
    # rooms 2 and 4, margins 1 and 2: half the room in both cells
    first = write_report(tmp_path / 'a.md', [98., 99.], [96., 95.],
                         [97., 97.])
    # another variant's name; room 1, margin -1 and room 0, margin 0
    second = write_report(tmp_path / 'b.md', [97., 95.], [96., 95.],
                          [95., 95.], variant='own')
    png = tmp_path / 'room.png'
    teacher_room.main([first, second + ':own', '--plot', str(png)])
    out = capsys.readouterr().out
    assert '| a.md | R-34 0.25 4 16 0.05 1/1 100% 138 | +2.00 | +1.00 |' \
        in out, out
    assert ('- a.md: 2 cells, room +3.00, margin +1.50, share of the room '
            'taken 0.50, correlation nan') in out
    # share (2*1 + 4*2 + 1*-1 + 0) / (4 + 16 + 1 + 0) = 9 / 21; Pearson r
    # 5.5 / sqrt(8.75 * 5)
    assert '- all: 4 cells, room +1.75, margin +0.50, share of the room ' \
        'taken 0.43, correlation 0.83' in out
    assert png.stat().st_size > 0


def test_a_variant_the_report_did_not_run_is_named(tmp_path):
    report = write_report(tmp_path / 'a.md', [98., 99.], [96., 95.],
                          [97., 97.])
    with pytest.raises(ValueError, match='no cell ran "StableKD own"'):
        teacher_room.main([report + ':own'])


def test_a_page_without_teachers_is_named(tmp_path):
    page = tmp_path / 'notes.md'
    page.write_text('# not a report\n\n## Final test top-1\n')
    with pytest.raises(ValueError, match='notes.md: no "Teachers'):
        teacher_room.main([str(page)])


def test_the_cells_grouped_by_a_column(tmp_path, capsys):
    # cell 0 (ratio 0.25): rooms 2 and 1, margins 1 and -1 over two
    # reports; cell 1 (ratio 0.5): room 4, margin 2, and room 0, margin 0
    first = write_report(tmp_path / 'a.md', [98., 99.], [96., 95.],
                         [97., 97.])
    second = write_report(tmp_path / 'b.md', [97., 95.], [96., 95.],
                          [95., 95.])
    teacher_room.main([first, second, '--by', 'ratio', 'teacher'])
    out = capsys.readouterr().out
    # share (2*1 + 1*-1) / (4 + 1) = 0.2; (4*2 + 0) / 16 = 0.5
    assert '| ratio | 0.25 | 2 | +1.50 | +0.00 | 0.20 | nan |' in out, out
    assert '| ratio | 0.5 | 2 | +2.00 | +1.00 | 0.50 | nan |' in out
    # both cells' teachers are R-34: the fit of all four points
    assert '| teacher | R-34 | 4 | +1.75 | +0.50 | 0.43 | 0.83 |' in out
    with pytest.raises(ValueError, match=r'no column "width"; its cells '
                       r"are named by \['teacher', 'ratio', 'student w'"):
        teacher_room.main([first, '--by', 'width'])
