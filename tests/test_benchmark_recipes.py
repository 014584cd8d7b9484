"""``benchmarks/recipes.py`` (the authors' recipe against the default) at a
tiny size."""
from benchmark_helpers import TINY_DATA, numbers, run_benchmark, table_rows


def test_recipes_rewrites_only_its_section(tmp_path):
    doc = tmp_path / 'reproduction.md'
    doc.write_text('before\n<!-- digits: begin -->\nold\n'
                   '<!-- digits: end -->\nafter\n')
    # 3 epochs: the authors' recipe changes stage every third of them
    run_benchmark(tmp_path, 'recipes.py', '--work-dir', 'runs', '--out', doc,
                  '--seeds', 0, '--epochs', 3, '--teacher-epochs', 1,
                  *TINY_DATA)
    report = doc.read_text()
    assert report.startswith('before\n<!-- digits: begin -->\n')
    assert report.endswith('<!-- digits: end -->\nafter\n')
    assert 'old' not in report
    for recipe in ('KD', 'StableKD, default recipe',
                   "StableKD, authors' recipe (peak 10x)",
                   "StableKD, authors' recipe (peak 1x)"):
        assert 0 <= numbers(table_rows(report, recipe)[0])[0] <= 100
