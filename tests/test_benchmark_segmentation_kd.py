"""``benchmarks/segmentation_kd.py`` at a tiny size."""
import json

from mmengine.config import Config

from benchmark_helpers import numbers, run_benchmark, table_rows


def test_segmentation_kd_reports_every_method(tmp_path):
    # 4 training and 2 validation images in one batch: an iteration an
    # epoch; 5 epochs, so that StableKD's three stages begin at distinct
    # epochs (0, 1, 2); one variant, trained with what it sets
    rows = {'alone': 'student alone', 'kd': 'CWD KD',
            'stablekd': 'StableKD (shipped: CWD KD + recomposition)',
            'stablekd-noclip': 'StableKD without the gradient clip'}
    run_benchmark(tmp_path, 'segmentation_kd.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--epochs', 5,
                  '--methods', *rows, '--images', 4, 2,
                  '--teacher-epochs', 1,
                  '--cfg-options', 'train_dataloader.batch_size=4',
                  'val_dataloader.batch_size=2')
    report = (tmp_path / 'report.md').read_text()
    for row in ['teacher (width 32, one run)', *rows.values()]:
        assert 0 <= numbers(table_rows(report, row)[0])[0] <= 100, row
    assert not table_rows(report, 'half-merged 10%')  # not asked for
    runs = tmp_path / 'runs' / '5ep'
    result = json.load(open(runs / 'stablekd' / 'seed0' / 'result.json'))
    assert result['iters'] == 5
    assert 'model.teacher_ckpt=' in ' '.join(result['options'])
    log = (runs / 'stablekd' / 'seed0' / 'train.out').read_text()
    assert 'starts stage 2' in log  # the recomposition reached end to end
    assert 'RecompositionHook: gradient norm clipped at 10.0' in log
    # the variant's run trained without the hook's clip
    log = (runs / 'stablekd-noclip' / 'seed0' / 'train.out').read_text()
    assert 'starts stage 2' in log and 'gradient norm clipped' not in log
    variant = Config.fromfile(next(
        (runs / 'stablekd-noclip' / 'seed0').glob('*.py')))
    assert variant.custom_hooks[0].clip_grad is None
