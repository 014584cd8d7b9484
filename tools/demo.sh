#!/usr/bin/env bash
# README command 1: set up (or reuse) the environment, then run the digits
# demo (teacher, student alone, KD, StableKD) through tools/train.py.
exec bash "$(dirname "${BASH_SOURCE[0]}")/venv_python.sh" tools/demo_digits.py "$@"
