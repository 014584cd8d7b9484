"""The detection demo (tools/demo_detection.py) at a tiny size, as a user
runs it: from an empty directory, then again with its teacher kept."""
import os.path as osp
import subprocess
import sys

from conftest import ROOT
from benchmark_helpers import numbers, table_rows


def run_demo(cwd, *args) -> str:
    """``python tools/demo_detection.py *args`` from ``cwd``; its stdout."""
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'demo_detection.py'),
         *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return out.stdout


def test_detection_demo_trains_its_runs_and_reuses_the_teacher(tmp_path):
    # 4 training and 2 validation images in one batch: an iteration an
    # epoch; 5 student epochs, so that StableKD's three stages begin at
    # distinct iterations (0, 2, 3)
    tiny = ['--images', 4, 2, '--teacher-epochs', 1, '--epochs', 5,
            '--cfg-options', 'train_dataloader.batch_size=4',
            'val_dataloader.batch_size=2']
    first = run_demo(tmp_path, *tiny)
    report = (tmp_path / 'work_dirs' / 'demo_detection' /
              'results.md').read_text()
    rows = ['teacher (RetinaNet R-18 w32)',
            'student alone (RetinaNet R-18 w16)',
            'CrossKD-style + PKD (the best KD baseline)',
            'StableKD (its twin + the recomposition)']
    for row, iters in zip(rows, (1, 5, 5, 5)):
        cells, = table_rows(report, row)
        mAP, mAP50, trained = numbers(cells[:3])
        assert 0 <= mAP <= 1 and 0 <= mAP50 <= 1 and trained == iters, row
    assert (tmp_path / 'data' / 'shapes' / 'annotations' /
            'train.json').is_file()
    assert 'Reusing the teacher' not in first
    log = (tmp_path / 'work_dirs' / 'demo_detection' /
           'stablekd-crosskd-pkd_retinanet_r18-w32-w16_shapes' /
           'train.out').read_text()
    assert 'starts stage 2' in log  # the recomposition reached end to end

    again = run_demo(tmp_path, *tiny)
    assert 'Reusing the teacher' in again
    assert 'retinanet_r18-w32_shapes_teacher.py' not in ''.join(
        line for line in again.splitlines() if line.startswith('$'))


def test_detection_demo_reads_the_benchmarks_column_by_its_header():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import demo_detection
    report = '\n'.join([
        '| family | config |', '|---|---|', '| fcos | x.py |', '',
        '| method | retinanet, 4 epochs | fcos, 4 epochs |',
        '|---|---:|---:|',
        '| student alone | 0.165 ± 0.025 | 0.312 ± 0.065 |',
        '| PKD | 0.787 ± 0.012 | 0.790 ± 0.018 |'])
    assert demo_detection.benchmark_cells(report, 'fcos, 4 epochs') == {
        'student alone': '0.312 ± 0.065', 'PKD': '0.790 ± 0.018'}
    assert demo_detection.benchmark_cells(report, 'fcos, 12 epochs') == {}
    # the shipped report has the demo's rows at its budget
    with open(demo_detection.REPORT) as f:
        cells = demo_detection.benchmark_cells(f.read(),
                                               'retinanet, 4 epochs')
    assert all(cells.get(row) for *_, row in demo_detection.STUDENTS)
