"""``benchmarks/heterogeneous_pairs.py`` at a tiny size."""
from benchmark_helpers import TINY_DATA, numbers, run_benchmark, table_rows


def test_heterogeneous_pairs_reports_every_method(tmp_path):
    run_benchmark(tmp_path, 'heterogeneous_pairs.py', '--work-dir', 'runs',
                  '--out', 'report.md', '--seeds', 0, '--teacher-widths', 16,
                  '--teacher-epochs', 1, '--fractions', 1.0, '--iters', 1,
                  '--alignments', 'pca', '--ablations', *TINY_DATA)
    report = (tmp_path / 'report.md').read_text()
    assert table_rows(report, 'ResNet-18 w16')[0][0] == '0.5'  # the ratio
    for method in ('student alone', 'KD', 'StableKD, pca'):
        assert 0 <= numbers(table_rows(report, method)[0])[0] <= 100
