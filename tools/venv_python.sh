#!/usr/bin/env bash
# Set up (or reuse) the environment, then run its python with these arguments
# from the repository root: the README's commands and the demos go through it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${MMSTABLEKD_VENV:-$ROOT/.venv}/bin/python" "$@"
