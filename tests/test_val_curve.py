"""tools/analysis/val_curve.py on made-up MMEngine logs (a real run's log
is read in test_benchmark_detection_kd.py)."""
import os.path as osp
import sys

import pytest

from conftest import ROOT
from test_stage_losses import write_log

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import val_curve  # noqa: E402

MAP = 'coco/bbox_mAP'


def _run(run_dir, maps, stages=(0, 1)):
    """Two epochs of 2 iterations, logged at each, validated after each;
    ``stages``: the stage training at the end of each epoch (None: no
    RecompositionHook)."""
    rows = []
    for epoch, (value, stage) in enumerate(zip(maps, stages), 1):
        for it in (2 * epoch - 1, 2 * epoch):
            row = dict(iter=it, epoch=epoch, loss=1.0)
            if stage is not None:
                row['recomposition_stage'] = stage
            rows.append(row)
        rows.append({MAP: value, 'coco/bbox_mAP_50': 1.0, 'step': epoch})
    write_log(run_dir, rows)


def test_means_each_group_at_each_validated_epoch(tmp_path):
    _run(tmp_path / 'a0', (0.2, 0.6))
    _run(tmp_path / 'a1', (0.4, 0.8))
    _run(tmp_path / 'b0', (0.5, 0.7), stages=(None, None))
    table = val_curve.curve_table(
        {'StableKD': [str(tmp_path / 'a0'), str(tmp_path / 'a1')],
         'KD': [str(tmp_path / 'b0')]}, MAP)
    assert table.splitlines() == [
        '| epoch | last logged iteration | StableKD | KD |',
        '|---:|---:|---:|---:|',
        '| 1 | 2 | 0.300 ± 0.141 (stage 0) | 0.500 |',
        '| 2 | 4 | 0.700 ± 0.141 (stage 1) | 0.700 |']


def test_a_log_without_the_metric_is_refused_with_the_fix(tmp_path, capsys):
    _run(tmp_path / 'a', (0.2, 0.6))
    with pytest.raises(SystemExit) as exit_:
        val_curve.main(['--runs', 'x', str(tmp_path / 'a'),
                        '--metric', 'accuracy/top1'])
    assert exit_.value.code == 2
    assert 'no validation reports accuracy/top1: run with ' \
        'train_cfg.val_interval=1' in capsys.readouterr().err


def test_a_group_without_runs_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        val_curve.main(['--runs', 'x'])
    assert exit_.value.code == 2
    assert "--runs x: give the runs' work dirs" in capsys.readouterr().err
