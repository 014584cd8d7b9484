#!/usr/bin/env bash
# README command 1: set up (or reuse) the environment, then run the digits
# demo (teacher, student alone, KD, StableKD) through tools/train.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${MMSTABLEKD_VENV:-$ROOT/.venv}/bin/python" tools/demo_digits.py "$@"
