"""Where a machine's CPU went during a stretch of a benchmark, by kind of process, read
from ``/proc`` (Linux): the server's workers, PostgreSQL, the benchmark's own process,
everything else, and the idle time of every core.

A process's CPU includes its reaped children's, so a worker killed within the stretch is
counted through uvicorn's supervisor (and a PostgreSQL backend through the postmaster);
what such a process had spent before the stretch began is taken off again."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.support.proc import processes

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine() -> tuple[float, float]:
    """(busy, idle) core-seconds of every core since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK, idle / TICK


def _processes() -> dict[int, tuple[str, float]]:
    """Every process's kind and its CPU seconds so far (its own and its reaped
    children's)."""
    me = os.getpid()
    every = processes()
    servers = {p.pid for p in every if b"cspermit.cli" in p.cmdline}
    out: dict[int, tuple[str, float]] = {}
    for p in every:
        if p.pid == me:
            kind = "bench"
        elif p.name == "postgres" or b"postgres" in p.cmdline.split(b"\0", 1)[0]:
            kind = "postgresql"
        elif p.pid in servers or (b"spawn_main" in p.cmdline and p.parent in servers):
            kind = "server"
        else:
            kind = "other"
        out[p.pid] = (kind, p.cpu_ticks / TICK)
    return out


@dataclass(frozen=True)
class Snapshot:
    busy: float
    idle: float
    processes: dict[int, tuple[str, float]]


def snapshot() -> Snapshot:
    busy, idle = _machine()
    return Snapshot(busy, idle, _processes())


def spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Core-seconds between two snapshots by kind (``server``, ``postgresql``,
    ``bench``, ``other``) and ``idle``."""
    by_kind = {"server": 0.0, "postgresql": 0.0, "bench": 0.0}
    for pid, (kind, cpu) in after.processes.items():
        if kind == "other":
            continue
        was = before.processes.get(pid)
        by_kind[kind] += cpu - (was[1] if was and was[0] == kind else 0.0)
    for pid, (kind, cpu) in before.processes.items():
        if pid not in after.processes and kind in ("server", "postgresql"):
            by_kind[kind] -= cpu  # ended: its whole CPU is now in its parent's count
    busy = after.busy - before.busy
    by_kind["other"] = max(0.0, busy - sum(by_kind.values()))
    by_kind["idle"] = after.idle - before.idle
    return by_kind


def said(by_kind: dict[str, float], events: int) -> str:
    """The split in words for a figure's note: µs of CPU an event by kind."""
    parts = [f"{kind} {1e6 * s / events:.0f}" for kind, s in by_kind.items() if events]
    return "CPU µs an event: " + ", ".join(parts)
