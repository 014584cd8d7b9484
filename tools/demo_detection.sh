#!/usr/bin/env bash
# The detection demo: set up (or reuse) the environment, generate the shapes
# data, then train a RetinaNet teacher, the student alone, the strongest KD
# baseline of benchmarks/detection_kd.py (CrossKD-style + PKD) and StableKD
# through tools/train.py and print a bbox mAP table.
exec bash "$(dirname "${BASH_SOURCE[0]}")/venv_python.sh" tools/demo_detection.py "$@"
