#!/usr/bin/env bash
# Create .venv and install easy-oww with everything the offline demo and the tests need.
# PyTorch goes in first so that the right build is chosen before anything depends on it.
# The Dockerfile runs this script too, so the image and a local set-up cannot drift.
#
#   EASY_OWW_DEVICE=cpu|cuda  cpu (default): the CPU build of PyTorch, from
#                             EASY_OWW_TORCH_INDEX when set (the Dockerfile sets PyTorch's
#                             CPU index: PyPI's Linux wheel is the CUDA build);
#                             cuda: PyPI's CUDA build of PyTorch and onnxruntime-gpu
#   EASY_OWW_VENV=DIR         the virtual environment (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${EASY_OWW_VENV:-.venv}
DEVICE=${EASY_OWW_DEVICE:-cpu}
TORCH="torch==2.13.0"
ORT_GPU="onnxruntime-gpu==1.31.1"
EXTRAS="train,tflite,piper,kokoro,rooms,openai,mic,plot,test"
case "$DEVICE" in
  cpu|cuda) ;;
  *) echo "setup.sh: EASY_OWW_DEVICE must be cpu or cuda, not '$DEVICE'" >&2; exit 2 ;;
esac
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q)
"${pip[@]}" --upgrade pip
if [ "$DEVICE" = cpu ] && [ -n "${EASY_OWW_TORCH_INDEX:-}" ]; then
  "${pip[@]}" --index-url "$EASY_OWW_TORCH_INDEX" "$TORCH"
else
  "${pip[@]}" "$TORCH"
fi
"${pip[@]}" -e ".[$EXTRAS]"
if [ "$DEVICE" = cuda ]; then
  # one ONNX Runtime at a time: both wheels install the same `onnxruntime` package
  "$VENV/bin/python" -m pip uninstall -q -y onnxruntime
  "${pip[@]}" "$ORT_GPU"
fi
