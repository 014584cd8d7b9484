"""``benchmarks/transformer_pairs.py`` at a tiny size."""
from benchmark_helpers import TINY_DATA, numbers, run_benchmark, table_rows


def test_transformer_pairs_reports_every_resize(tmp_path):
    run_benchmark(tmp_path, 'transformer_pairs.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--teacher-epochs', 1,
                  '--iters', 1, '--resizes', 'nearest', *TINY_DATA)
    report = (tmp_path / 'report.md').read_text()
    for method in ('student alone', 'KD', 'StableKD, nearest resize'):
        assert 0 <= numbers(table_rows(report, method)[0])[0] <= 100
