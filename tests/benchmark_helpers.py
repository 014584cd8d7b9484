"""What the tests of ``benchmarks/`` share: each script runs from its
command line at a tiny size, so that none rots unnoticed (as a user runs it:
a subprocess, from a tmp dir, with its work dir and report there), and its
report is read back."""
import os.path as osp
import subprocess
import sys

from conftest import ROOT

# the benchmark scripts import as modules (their helpers are tested too)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

DEMO = osp.join(ROOT, 'configs', 'demo')

# Every training run on a class-balanced 5% of the digits (72 images) in
# batches of 16: 5 iterations an epoch, as many as a StableKD schedule of
# three stages and the IBOE probe's 4 batches need; validated on 60 of the
# test images.
TINY_DATA = [
    '--cfg-options',
    'train_dataloader.sampler.type=mmstablekd.ClassBalancedSubsetSampler',
    'train_dataloader.sampler.fraction=0.05', 'train_dataloader.batch_size=16',
    'val_dataloader.dataset.indices=60'
]


def run_benchmark(cwd, script: str, *args) -> None:
    """Run ``python benchmarks/<script> *args`` from ``cwd`` (relative
    paths land there, never in the repository); fail with the end of its
    output unless it succeeds."""
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script),
         *map(str, args)],
        cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]


def table_rows(report: str, first_cell: str) -> list:
    """The cells after the first of the Markdown table rows of ``report``
    whose first cell is ``first_cell``, in the order they appear."""
    rows = [[c.strip() for c in line.strip().strip('|').split('|')]
            for line in report.splitlines() if line.startswith('|')]
    return [row[1:] for row in rows if row[0] == first_cell]


def numbers(cells) -> list:
    """``cells`` as numbers (a mean ± std cell: its mean)."""
    return [float(c.split(' ± ')[0]) for c in cells]
