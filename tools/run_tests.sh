#!/usr/bin/env bash
# README command 2: set up (or reuse) the environment, then run the tests,
# in PYTEST_WORKERS processes (default 2: one per core of the CI machine;
# pytest-xdist, each test file kept in one process for its fixtures); the
# 25 slowest tests are listed at the end, to see where the suite's time goes.
exec bash "$(dirname "${BASH_SOURCE[0]}")/venv_python.sh" -m pytest tests -n "${PYTEST_WORKERS:-2}" \
  --dist loadfile --durations=25 "$@"
