#!/usr/bin/env bash
# The full test suite: set-up, lint, types, import contracts, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== ruff format"; ruff format --check .
echo "== mypy (strict: permits, sensor_drivers)"; mypy
echo "== import contracts"; lint-imports
echo "== pytest"
exec pytest "$@"
