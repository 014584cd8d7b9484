"""tools/analysis/inspect_blocks.py prints the block plan or the problem."""
import os.path as osp
import re
import subprocess
import sys

from conftest import ROOT, build_model
from mmengine.config import Config

TOOL = osp.join(ROOT, 'tools', 'analysis', 'inspect_blocks.py')
DEMO = osp.join(ROOT, 'configs', 'demo',
                'stablekd_resnet18-w32-w8_digits.py')


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_block_plan_lists_shapes_alignments_and_parameters_per_block():
    out = _run(DEMO)
    assert out.returncode == 0, out.stderr
    assert '| 0 | backbone.layer1 | (8, 32, 32) | backbone.layer1 | ' \
        '(32, 32, 32) | PCAProjection |' in out.stdout
    assert '| 2 | backbone.layer3 | (32, 8, 8) |' in out.stdout
    per_block = [int(n.replace(',', '')) for n in re.findall(
        r'^\| \d \| [^|]+ \| ([\d,]+) \|$', out.stdout, re.M)]
    cfg = Config.fromfile(DEMO)
    cfg.model.teacher_ckpt = None
    student = build_model(cfg).student
    assert len(per_block) == 4
    assert sum(per_block) == sum(p.numel() for p in student.parameters())


def test_a_problem_is_printed_and_fails():
    out = _run(DEMO, '--cfg-options',
               'model.boundaries.student=[backbone.layer1,backbone.layer9,'
               'backbone.layer3]')
    assert out.returncode == 1
    assert "PROBLEM: The student (ImageClassifier) has no module at " \
        "'backbone.layer9'" in out.stdout
