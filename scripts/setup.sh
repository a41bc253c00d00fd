#!/usr/bin/env bash
# Create .venv and install easy-oww with everything the offline demo and the tests need.
# The CPU build of PyTorch goes in first so no CUDA build is pulled in by accident.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[train,tflite,piper,rooms,openai,mic,plot,test]"
