"""``python -m bench [--quick] [--json] [--only a,b]``: every figure against its limit.

Each area runs on its own; one that fails or is missing is reported as not measured
(``ok: false`` with the reason) and the run goes on. Quick mode (about 3 min on 2 cores)
skips only the 1,000,000-permit figures, which it reports as not measured.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import AREAS, Figure, missing

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": commit,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_area(area: str, quick: bool) -> list[Figure]:
    owed = AREAS.get(area, [])
    try:
        module = importlib.import_module(f"bench.{area}")
    except Exception as exc:  # an area another engineer has not written yet
        reason = f"bench.{area} could not be imported: {type(exc).__name__}: {exc}"
        return [missing(n, u, t, reason) for n, u, t in owed]
    try:
        figures: list[Figure] = list(module.run(quick))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        reason = f"bench.{area} failed: {type(exc).__name__}: {exc}"
        return [missing(n, u, t, reason) for n, u, t in owed]
    have = {f.name for f in figures}
    for name, unit, target in owed:
        if name not in have and not (quick and area == "tablet" and "12h" in name):
            figures.append(missing(name, unit, target, f"bench.{area} did not report it"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="< 2 min; no 1M-permit figures")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", default="", help="comma-separated areas: " + ",".join(AREAS))
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    areas = [a for a in args.only.split(",") if a] or list(AREAS)
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        parser.error(f"--only: unknown area {', '.join(unknown)}; expected {', '.join(AREAS)}")
    info = machine()
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    for area in areas:
        t0 = time.perf_counter()
        print(f"bench: {area} …", file=sys.stderr, flush=True)
        figures.extend(run_area(area, args.quick))
        timings[area] = round(time.perf_counter() - t0, 1)
        print(f"bench: {area} done in {timings[area]} s", file=sys.stderr, flush=True)
    info["seconds"] = timings
    info["mode"] = "quick" if args.quick else "full"
    out = {"figures": [f.as_dict() for f in figures], "machine": info}
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(table(figures))
    return 0


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    rows = ["| figure | value | unit | target | ok | baseline |", "|---|---|---|---|---|---|"]
    for f in figures:
        ok = "" if f.ok is None else ("yes" if f.ok else "**no**")
        note = f" ({f.note})" if f.note and f.value is None else ""
        rows.append(
            f"| {f.name}{note} | {_fmt(f.value)} | {f.unit} | {f.target or ''} | {ok} | "
            f"{_fmt(f.baseline) if f.baseline is not None else ''} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
