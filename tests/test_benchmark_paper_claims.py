"""``benchmarks/paper_claims.py`` (docs/benchmarks.md) at a tiny size, and its
variants."""
import os.path as osp

import pytest
from mmengine.config import Config

from benchmark_helpers import TINY_DATA, numbers, run_benchmark, table_rows
from conftest import ROOT, build_model

# benchmarks/*.py, on the path once benchmark_helpers is imported
import paper_claims


def test_paper_claims_reports_every_claim(tmp_path):
    run_benchmark(tmp_path, 'paper_claims.py', '--work-dir', 'runs', '--out',
                  'docs/benchmarks.md', '--seeds', 0, '--no-variants',
                  '--teacher-epochs', 1, '--epochs', 1, '--cost-batch', 2,
                  '--cost-iters', 1, *TINY_DATA)
    docs = tmp_path / 'docs'
    report = (docs / 'benchmarks.md').read_text()
    assert 'A quick check, not the benchmark' in report
    for claim in ('higher top-1 than KD at equal budget',
                  'faster convergence',
                  'StableKD on 40% of the data beats KD on 100%',
                  'an iteration costs what a KD iteration costs'):
        assert table_rows(report, claim)[0][2].startswith('**'), claim
    for run in ('student alone', 'KD', 'StableKD', 'KD, 40% data',
                'StableKD, 40% data'):  # top-1 mean ± std
        assert 0 <= numbers(table_rows(report, run)[0][2:3])[0] <= 100
    assert (docs / 'benchmark_accuracy.png').stat().st_size > 0
    assert (docs / 'iboe_probe.png').stat().st_size > 0


@pytest.mark.parametrize('name', list(paper_claims.VARIANTS))
def test_paper_claims_variants_build(name):
    # the tiny run above skips the variants: each must still make a model
    method, options = paper_claims.VARIANTS[name]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                   paper_claims.CONFIG[method]))
    cfg.merge_from_dict(paper_claims.option_dict(options))
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    assert build_model(cfg).training is not None
