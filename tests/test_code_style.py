"""The code follows the project's flake8 settings (setup.cfg)."""
import subprocess
import sys

from conftest import ROOT


def test_flake8_finds_nothing():
    out = subprocess.run(
        [sys.executable, '-m', 'flake8', 'mmstablekd', 'tools', 'benchmarks',
         'tests', 'configs', 'setup.py'],
        cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
