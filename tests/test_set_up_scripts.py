"""The README's two commands run in the environment ``MMSTABLEKD_VENV``
names (the set-up's default is ``<repo>/.venv``), through
``tools/venv_python.sh`` as the detection demo's does."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.fixture
def repo_without_venv(tmp_path):
    """The repository's entries linked into a tmp dir, without ``.venv``."""
    repo = tmp_path / 'repo'
    repo.mkdir()
    for entry in os.listdir(ROOT):
        if entry not in ('.venv', '.git', 'work_dirs'):
            (repo / entry).symlink_to(os.path.join(ROOT, entry))
    return repo


@pytest.mark.parametrize('command', [
    ['run_tests.sh', '--collect-only', '-q', 'tests/test_subset_sampler.py'],
    ['demo.sh', '--help'],
    ['demo_detection.sh', '--help']])
def test_commands_run_in_the_environment_mmstablekd_venv_names(
        repo_without_venv, command):
    script, *args = command
    out = subprocess.run(
        ['bash', str(repo_without_venv / 'tools' / script), *args],
        cwd=repo_without_venv, capture_output=True, text=True,
        env=dict(os.environ, MMSTABLEKD_VENV=sys.prefix, PYTEST_WORKERS='0'))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f'[setup] environment ready: {sys.prefix}' in out.stdout
    assert ('tests collected' if script == 'run_tests.sh' else 'usage:') \
        in out.stdout
