#!/usr/bin/env bash
# The offline demo: a "hey jarvis" model trained on embedded defaults (no downloads),
# evaluated on held-out voices and phrases, in a workspace beside this script's repo.
set -euo pipefail
cd "$(dirname "$0")/.."
WS=${EASY_OWW_DEMO_WORKSPACE:-./demo-workspace}
OWW=.venv/bin/easy-oww
"$OWW" --workspace "$WS" init
[ -f "$WS/projects/hey_jarvis/config.yaml" ] || \
  "$OWW" --workspace "$WS" create hey_jarvis --wake-word "hey jarvis" --preset quick
"$OWW" --workspace "$WS" train hey_jarvis --preset quick
"$OWW" --workspace "$WS" list
