#!/usr/bin/env bash
# The main job: the bureau server on SQLite with the demo data, the simulator playing the
# molasses-tank scenario, and the guardian's tablet app enrolled with the server and
# reading the simulator's serial detector. Without a display it runs headless and says so.
# Ctrl-C stops everything it started. Safe to run twice (one at a time: a second run while
# the first is up is refused, naming the first one's pid).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
URL="http://$HOST:$PORT"
DB="sqlite:///$PWD/var/demo.db"
TABLET_DB="$PWD/var/tablet.db"

exec 9>var/run.lock
if ! flock -n 9; then
  echo "run.sh: already running (pid $(cat var/run.pid 2>/dev/null || echo '?')); stop it with Ctrl-C there first" >&2
  exit 1
fi
echo $$ >var/run.pid

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  # only the children this script started, newest first, by pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -f var/run.pid
  echo "run.sh: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -f var/demo.db ]; then
  cspermit server seed-demo --db "$DB"
  if [ -f "$TABLET_DB" ]; then
    # enrolled with a server that is gone: keep it (it may hold unsent records), start afresh
    mv "$TABLET_DB" "$TABLET_DB.$(date +%Y%m%dT%H%M%S)"
    rm -f "$TABLET_DB-wal" "$TABLET_DB-shm"
  fi
fi

# The warning cards' 码上查 QR codes open this server's public pages (on this machine for
# the demo; a real server sets its public https address, docs/server.md).
export CSPERMIT_PUBLIC_BASE_URL="${CSPERMIT_PUBLIC_BASE_URL:-$URL}"
cspermit server run --db "$DB" --host "$HOST" --port "$PORT" >var/server.log 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
cspermit sim run molasses-tank >var/sim.jsonl 2>var/sim.log &
PIDS+=("$!")

for _ in $(seq 1 150); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && grep -q '"status": "running"' var/sim.jsonl && break
  kill -0 "$SERVER" 2>/dev/null || { echo "run.sh: the server stopped, see var/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$URL/healthz" >/dev/null || { echo "run.sh: the server did not start, see var/server.log" >&2; exit 1; }
grep -q '"status": "running"' var/sim.jsonl || { echo "run.sh: the simulator did not start, see var/sim.log" >&2; exit 1; }

# enrol the tablet, put the simulator's detectors in the mill's ledger, pull the ledger
# (the demo admin's password through the environment, never the command line)
CSPERMIT_ADMIN_PASSWORD=a-admin-demo cspermit tablet connect --server "$URL" --db "$TABLET_DB" \
  --sim-endpoints var/sim.jsonl --label "1号糖罐入口演示平板（run.sh）" --demo-pins >var/connect.json
echo "run.sh: server $URL (demo logins: a-admin / a-admin-demo, bureau / bureau-demo)"
echo "run.sh: simulator molasses-tank: $(grep -c '"serial"' var/sim.jsonl) detectors (var/sim.jsonl)"
echo "run.sh: tablet enrolled, reading the serial detector; demo PINs: $(python3 -c 'import json,sys; print(", ".join(f"{k} {v}" for k, v in json.load(open(sys.argv[1]))["demo_pins"].items()) or "as before")' var/connect.json)"

# the settings screen lists the simulator's detectors next to the serial ports
export CSPERMIT_SIM_ENDPOINTS="$PWD/var/sim.jsonl"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  cspermit tablet run --db "$TABLET_DB" --server "$URL" >var/tablet.log 2>&1 &
  PIDS+=("$!")
  echo "run.sh: tablet app open in a window (log: var/tablet.log). Ctrl-C stops everything."
else
  echo "run.sh: no display (\$DISPLAY unset): running HEADLESS."
  echo "run.sh: 1) the walkthrough drives the real screens through the molasses-tank permit"
  echo "run.sh:    (its own accelerated copy of the scenario) and syncs it to $URL;"
  echo "run.sh:    screenshots in var/walkthrough/"
  if cspermit tablet walkthrough --headless --screenshots var/walkthrough --server "$URL" \
    >var/walkthrough.json 2>var/walkthrough.log; then
    echo "run.sh:    every step ended as expected: $(tail -1 var/walkthrough.json | python3 -c 'import json,sys; print(" ".join(f"{k}={v}" for k, v in json.load(sys.stdin)["outcomes"].items()))')"
  else
    echo "run.sh:    the walkthrough FAILED, see var/walkthrough.json and var/walkthrough.log" >&2
  fi
  SDL_VIDEODRIVER=offscreen cspermit tablet run --db "$TABLET_DB" --server "$URL" >var/tablet.log 2>&1 &
  PIDS+=("$!")
  echo "run.sh: 2) the tablet app runs under SDL offscreen, enrolled and reading the simulator"
  echo "run.sh:    (log: var/tablet.log; it reports the detector's readings after 10 s)."
fi
echo "run.sh: web pages at $URL/ . Ctrl-C stops the server, the simulator and the tablet."
wait "$SERVER"
