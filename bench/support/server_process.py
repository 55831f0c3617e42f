"""``cspermit server run`` as a real process on a free port, for the tests and the
benchmarks: started, waited for, stopped by its own pid."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.support.proc import processes

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "cspermit.cli")


@contextmanager
def cli_server(
    url: str, workdir: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``cspermit server run`` on ``url`` with ``extra`` options until the block ends;
    yields the base URL and the process.

    The server binds port 0 and the port is read from its own log: picking a free port
    first and passing it on races with other processes on a shared machine (a server
    that lost the race would leave the caller talking to someone else's). Stopped by its
    own pid."""
    import httpx

    env = {**os.environ, "CSPERMIT_LANG": "zh_CN", **(env or {})}
    log_path = workdir / f"server-{time.monotonic_ns()}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "server", "run", "--db", url, "--port", "0", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                found = re.search(
                    r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log_path.read_text()
                )
                if found:
                    base = found.group(1)
                    # Several workers: the port is bound before they listen on it.
                    with httpx.Client(timeout=5) as c, contextlib.suppress(httpx.ConnectError):
                        if c.get(base + "/healthz").status_code == 200:
                            break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def workers_of(pid: int) -> list[int]:
    """The worker processes of uvicorn's supervisor ``pid`` (not its helpers)."""
    return sorted(
        p.pid
        for p in processes()
        if p.parent == pid and b"spawn_main" in p.cmdline and b"resource_tracker" not in p.cmdline
    )
