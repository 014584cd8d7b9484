"""``benchmarks/iteration_cost.py``: the stages it reads, and its report at a
tiny size."""
import os.path as osp

import pytest
from mmengine.config import Config

from benchmark_helpers import DEMO, numbers, run_benchmark, table_rows

# benchmarks/*.py, on the path once benchmark_helpers is imported
import iteration_cost


def test_iteration_cost_reads_the_declared_stages():
    for config in (iteration_cost.DEFAULT_CONFIG,
                   osp.join(DEMO, 'stablekd_resnet18-w32-w8_digits.py')):
        assert iteration_cost.first_groups(Config.fromfile(config)) == \
            [[0], [1], [2], [3]]


def test_iteration_cost_reads_the_stages_a_hook_sets_itself():
    cfg = Config(dict(
        recomposition=dict(decomposed=dict(begin=0, groups=[[0], [1]])),
        custom_hooks=[dict(type='mmstablekd.AlignmentFitHook'), dict(
            type='mmstablekd.RecompositionHook',
            stages=[dict(begin=0, groups=[[0, 1], [2]]), dict(begin=4)])]))
    assert iteration_cost.first_groups(cfg) == [[0, 1], [2]]


def test_iteration_cost_refuses_a_config_without_recomposition():
    with pytest.raises(SystemExit, match='no RecompositionHook'):
        iteration_cost.first_groups(
            Config.fromfile(osp.join(DEMO, 'kd_resnet18-w32-w8_digits.py')))


def test_iteration_cost_reports_both_groupings(tmp_path):
    out = tmp_path / 'cost.md'
    run_benchmark(tmp_path, 'iteration_cost.py', '--config',
                  osp.join(DEMO, 'stablekd_resnet18-w32-w8_digits.py'),
                  '--batch', 2, '--iters', 1, '--out', out)
    report = out.read_text()
    for grouping in ('KD [[0, 1, 2, 3]]', 'StableKD [[0], [1], [2], [3]]'):
        seconds, growth_mib, peak_mib = numbers(
            table_rows(report, grouping)[0])
        assert seconds > 0 and growth_mib >= 0 and peak_mib > 0
    assert 'StableKD / KD: iteration time x' in report
