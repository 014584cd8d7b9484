"""tools/analysis/stage_losses.py on made-up MMEngine logs (a real run's
log is read in test_benchmark_detection_kd.py)."""
import json
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import stage_losses  # noqa: E402


def write_log(run_dir, entries, stamp='20260101_000000'):
    log = run_dir / stamp / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text(''.join(json.dumps(e) + '\n' for e in entries))


def test_means_each_key_at_the_first_and_last_iteration_of_each_stage(
        tmp_path):
    for seed, cls in ((0, (0.8, 0.4, 0.3, 0.1)), (1, (0.6, 0.2, 0.1, 0.3))):
        write_log(tmp_path / f'seed{seed}', [
            dict(iter=1, loss=9.0, loss_cls=cls[0], loss_feat_b0=5.0,
                 recomposition_stage=0),
            dict(iter=2, loss=8.0, loss_cls=cls[1], loss_feat_b0=3.0,
                 recomposition_stage=0),
            dict(iter=3, loss=1.0, loss_cls=cls[2], recomposition_stage=1),
            dict(**{'coco/bbox_mAP': 0.5, 'step': 1}),  # validation: skipped
            dict(iter=4, loss=1.0, loss_cls=cls[3], recomposition_stage=1),
        ])
    # an older log in the same work dir is not read
    write_log(tmp_path / 'seed0', [dict(iter=1, loss=1.0, loss_cls=9.0)],
              stamp='20250101_000000')
    table = stage_losses.stage_table(
        [str(tmp_path / 'seed0'), str(tmp_path / 'seed1')],
        ['loss_cls', 'loss_feat_b0'])
    assert table.splitlines()[2:] == [
        '| 0 | 1-2 | 0.700 | 0.300 | 5.000 | 3.000 |',
        '| 1 | 3-4 | 0.200 | 0.200 |  |  |',  # merged: no boundary loss
    ]


def test_a_run_without_stages_is_one_row(tmp_path):
    write_log(tmp_path, [dict(iter=i, loss=1.0, loss_cls=c)
                         for i, c in ((1, 0.9), (2, 0.5), (3, 0.25))])
    table = stage_losses.stage_table([str(tmp_path)], ['loss_cls'])
    assert table.splitlines()[2:] == ['| - | 1-3 | 0.900 | 0.250 |']


def test_a_dir_without_a_log_is_refused_with_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        stage_losses.main([str(tmp_path)])
    assert exit_.value.code == 2
    assert 'no <timestamp>/vis_data/scalars.json: give the work dir of a ' \
        'finished run' in capsys.readouterr().err


def test_points_within_a_stage(tmp_path):
    # 5 logged iterations: 50% is the third, 75% the fourth (rounded)
    write_log(tmp_path, [dict(iter=i, loss=1.0, loss_feat_b0=v,
                              recomposition_stage=0)
                         for i, v in enumerate((8.0, 4.0, 2.0, 1.5, 1.0))])
    table = stage_losses.stage_table([str(tmp_path)], ['loss_feat_b0'],
                                     [0, 0.5, 0.75, 1])
    assert table.splitlines()[0] == (
        '| stage | logged iterations | loss_feat_b0 first | loss_feat_b0 '
        'at 50% | loss_feat_b0 at 75% | loss_feat_b0 last |')
    assert table.splitlines()[2] == \
        '| 0 | 0-4 | 8.000 | 2.000 | 1.500 | 1.000 |'


def test_a_point_outside_the_stage_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        stage_losses.main([str(tmp_path), '--at', '0', '1.5'])
    assert exit_.value.code == 2
    assert '--at takes shares of a stage in [0, 1]' in \
        capsys.readouterr().err
