#!/usr/bin/env bash
# Create the project's virtual environment in .venv, or reuse it when it is already complete.
#
# Installs torch/torchvision (requirements/torch.txt), mmcv 2.1.0 *with compiled ops* (built once
# from PyPI's source archive and cached outside the repo), requirements/runtime.txt,
# requirements/tests.txt, requirements/mim.txt (without its dependencies) and this package in
# develop mode.
#
# Environment knobs:
#   MMSTABLEKD_VENV   where the environment lives            (default: <repo>/.venv)
#   MMSTABLEKD_CACHE  where built wheels are cached          (default: ~/.cache/mmstablekd)
#   PYTHON            interpreter used to create the venv    (default: python3.11, else python3)
#   MAX_JOBS          parallel compile jobs for mmcv's ops   (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMSTABLEKD_VENV:-$ROOT/.venv}
CACHE=${MMSTABLEKD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmstablekd}
MMCV_VERSION=2.1.0
say() { echo "[setup] $*"; }

# The stamp records what the environment was built from; when it matches, the set-up is a no-op.
stamp_of() {
  cat "$ROOT/requirements/"*.txt "$ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1
}
STAMP_FILE=$VENV/.mmstablekd-stamp
if [[ -x $VENV/bin/python && -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$(stamp_of)" ]] \
   && "$VENV/bin/python" -c "import mmcv.ops, mmstablekd" 2>/dev/null; then
  say "environment ready: $VENV"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
  say "creating virtual environment $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# Index locations a machine's pip.conf names but that do not exist are
# reported once per package; that noise hides what matters.
quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
quiet "${PIP[@]}" install -q --upgrade pip wheel ninja

say "installing torch (requirements/torch.txt)"
quiet "${PIP[@]}" install -q -r "$ROOT/requirements/torch.txt"

TAG=$("$VENV/bin/python" -c "import sys, torch; print(f'cp{sys.version_info.major}{sys.version_info.minor}-torch{torch.__version__}'.replace('+', '_'))")
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-$TAG
if ! "$VENV/bin/python" -c "import mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    say "building mmcv $MMCV_VERSION with ops against $TAG: this takes ~17 minutes on 2 cores (cached in $WHEEL_DIR afterwards)"
    # mmcv's setup.py passes -std=c++17 but torch >= 2.10's headers need C++20: a compiler wrapper
    # rewrites the flag. The torch extension builder calls $CXX (through ninja).
    WRAP=$(mktemp -d)
    cat >"$WRAP/cxx" <<'EOF'
#!/usr/bin/env bash
exec "${MMSTABLEKD_REAL_CXX:-g++}" "${@/-std=c++17/-std=c++20}"
EOF
    chmod +x "$WRAP/cxx"
    # mmcv's setup.py imports pkg_resources, which setuptools >= 70 no longer ships.
    quiet "${PIP[@]}" install -q 'setuptools<70'
    mkdir -p "$WHEEL_DIR.partial"
    CXX=$WRAP/cxx MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      quiet "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$WHEEL_DIR.partial" "mmcv==$MMCV_VERSION"
    rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.partial" "$WHEEL_DIR"
    rm -rf "$WRAP"
  else
    say "using cached mmcv wheel from $WHEEL_DIR"
  fi
  quiet "${PIP[@]}" install -q "$WHEEL_DIR"/mmcv-*.whl
fi

say "installing requirements/runtime.txt, requirements/tests.txt and mmstablekd (develop mode)"
quiet "${PIP[@]}" install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
quiet "${PIP[@]}" install -q --no-deps -r "$ROOT/requirements/mim.txt"
quiet "${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"

"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmpretrain, mmseg, mmstablekd" \
  || { say "the environment in $VENV does not import; remove it and run again"; exit 1; }
stamp_of >"$STAMP_FILE"
say "environment ready: $VENV"
