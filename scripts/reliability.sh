#!/usr/bin/env bash
# Regenerate the figures in docs/reliability.md: long fuzz runs, many chaos runs,
# schemathesis with many examples, the full HIL fault matrix, and the found-bug tests.
# Usage: scripts/reliability.sh [FUZZ_SECONDS [CHAOS_RUNS [SCHEMATHESIS_EXAMPLES]]]
# (defaults 60, 20, 50: about 25 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
exec "$PY" -m tests.reliability.report \
  --fuzz-seconds "${1:-60}" --chaos-runs "${2:-20}" --schemathesis-examples "${3:-50}"
