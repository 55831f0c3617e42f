#!/usr/bin/env bash
# The main job: set up, seed the demo data once, and serve the bureau server on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var
DB="sqlite:///$PWD/var/demo.db"
if [ ! -f var/demo.db ]; then
  cspermit server seed-demo --db "$DB"
fi
exec cspermit server run --db "$DB" --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
