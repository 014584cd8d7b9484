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
    assert '| 0 | backbone.layer1 | map 8x32x32 | backbone.layer1 | ' \
        'map 32x32x32 | ChannelSelection |' in out.stdout
    assert '| 2 | backbone.layer3 | map 32x8x8 |' in out.stdout
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
               'backbone.layer3]', 'model.boundaries.teacher=[backbone.layer1,'
               'backbone.layer2,backbone.layer3]')
    assert out.returncode == 1
    assert "PROBLEM: The student (ImageClassifier) has no module at " \
        "'backbone.layer9'" in out.stdout


def test_auto_boundaries_are_printed_with_layouts_and_the_lines_to_pin_them():
    out = _run(osp.join(ROOT, 'configs', 'demo',
                        'stablekd_vit-tiny-resnet18-w8_digits.py'))
    assert out.returncode == 0, out.stderr
    assert ('| 0 | backbone.layer1 | map 8x32x32 | backbone.layers.1 | '
            'tokens 1+64x64 (8x8) | tokens -> map, nearest resize, '
            'PCAProjection |') in out.stdout
    pinned = out.stdout.split('To pin these boundaries in the config:')[1]
    cfg = Config.fromstring(pinned, '.py')
    assert cfg.model.boundaries.teacher == [
        'backbone.layers.1', 'backbone.layers.3', 'backbone.layers.5']
    assert cfg.model.boundaries.student == [
        'backbone.layer1', 'backbone.layer2', 'backbone.layer3']
