"""Where a catch-up push spends its time (docs/performance.md, "Catch-up ingest against
the floor"): ``python -m bench.ingest_profile [--tablets N] [--py-spy]``.

The storm's tablets' backlogs (``bench.province``: whole permits, batches of 200) pushed
one after another to ``cspermit server run`` (one worker, a SQLite file), then the
floor of the same events in the same run (``bench.province.floor_rates``). With
``--py-spy`` (``pip install py-spy``; not a project dependency) the server process is
sampled during the pushes and the functions with the largest share printed, inclusive
and self. Not a figure of ``python -m bench``: a tool to find what to cut.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _frame(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py)": one line of a function's share.
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rstrip(')').rsplit(':', 1)[0].rsplit('/', 1)[-1]})"


def py_spy() -> str:
    """Where py-spy is (on PATH or beside this interpreter; not a project dependency)."""
    return shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def shares(raw: Path, top: int = 40) -> str:
    """py-spy's raw stacks as the functions' shares of the samples (inclusive, self)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")]
        total += int(count)
        for f in set(frames):
            inclusive[f] += int(count)
        own[frames[-1]] += int(count)
    out = [f"{total} samples", "inclusive:"]
    out += [f"{100 * c / total:5.1f} %  {f}" for f, c in inclusive.most_common(top)]
    out += ["self:"] + [f"{100 * c / total:5.1f} %  {f}" for f, c in own.most_common(top // 2)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import httpx

    from bench import province
    from bench.support import cpu
    from bench.support.server_process import cli_server
    from sync_server.storage import make_engine, migrate
    from tablet_app.sync_client import batch_body

    parser = argparse.ArgumentParser(prog="python -m bench.ingest_profile", description=__doc__)
    parser.add_argument("--tablets", type=int, default=30, help="3 permits each (default 30)")
    parser.add_argument("--py-spy", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--top", type=int, default=40, help="functions shown (default 40)")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks in this file")
    args = parser.parse_args(argv)
    spy = py_spy()
    if args.py_spy and not Path(spy).exists():
        parser.error("py-spy is not installed (pip install py-spy)")
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-ingest-profile-"))
    try:
        url = f"sqlite:///{tmp}/server.db"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        size = replace(
            province.QUICK,
            enterprises=2,
            tablets=args.tablets,
            live_fraction=0.0,
            deadline_s=300,
            pushing_at_once=args.tablets,
        )
        ids = province.make_accounts(url, size)
        tablets = [province.Tablet(ids[i % len(ids)]) for i in range(size.tablets)]
        with cli_server(url, tmp) as (base, proc):

            async def enroll() -> None:
                async with httpx.AsyncClient(timeout=60) as http:
                    await province.enroll_tablets(http, base, tablets)

            asyncio.run(enroll())
            province.build_backlogs(tablets, size, tmp)
            batches = [
                (t.token, backlog[i : i + province.BATCH])
                for t in tablets
                for backlog in [t.backlog()]
                for i in range(0, len(backlog), province.BATCH)
            ]
            recorder = None
            if args.py_spy:
                where = str(tmp / "raw.txt")
                recorder = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(proc.pid),
                        "--format",
                        "raw",
                        "--rate",
                        "500",
                        "-o",
                        where,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)  # attached before the first push
            with httpx.Client(timeout=120) as http:
                before = cpu.snapshot()
                t0 = time.perf_counter()
                for token, batch in batches:
                    # The stored texts as the tablet sends them (``batch_body``).
                    r = http.post(
                        f"{base}/api/v1/sync/events",
                        content=batch_body(batch),
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                    )
                    r.raise_for_status()
                    if r.json()["accepted"] != len(batch):
                        raise RuntimeError(f"a push was not fully accepted: {r.text[:300]}")
                elapsed = time.perf_counter() - t0
                split = cpu.spent(before, cpu.snapshot())
            if recorder is not None:
                recorder.send_signal(signal.SIGINT)
                recorder.wait(timeout=60)
        checks, raw, floor = province.floor_rates(tablets, tmp)
        n = sum(len(b) for _, b in batches)
        print(
            f"{n} events in {elapsed:.2f} s: {n / elapsed:.0f} events/s over HTTP; floor "
            f"{floor:.0f} (checks {checks:.0f}, raw insert {raw:.0f}); "
            f"ratio {n / elapsed / floor:.3f}; {cpu.said(split, n)}"
        )
        if recorder is not None:
            print(shares(tmp / "raw.txt", args.top))
            if args.raw is not None:
                shutil.copyfile(tmp / "raw.txt", args.raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
