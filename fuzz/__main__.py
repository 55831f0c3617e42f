"""Run the harnesses: ``python -m fuzz --seconds N [--target NAME] [--json]``.

Each target runs in its own process (libFuzzer owns the process and exits it) on a
scratch copy of its seed corpus, so a run never rewrites the committed seeds. A crash
input is kept as ``fuzz/crashes/<target>-crash-<sha1>``; replay it with
``python -m fuzz.harness <target> fuzz/crashes/<file>``. Exit status 1 if any target
found something.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fuzz import TARGETS

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"
DICTS = HERE / "dicts"


@dataclass
class Outcome:
    target: str
    seconds: float
    inputs: int  # executions libFuzzer reports (number_of_executed_units)
    corpus: int  # inputs kept because they reached new code
    coverage: int  # edges + features libFuzzer saw (cov:)
    ok: bool
    crash: str | None = None
    detail: str = ""


_STAT = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_COV = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)")


def run_target(target: str, seconds: int, *, workers_dir: Path | None = None) -> Outcome:
    CRASHES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-", dir=workers_dir) as scratch:
        work = Path(scratch) / "corpus"
        shutil.copytree(CORPUS / target, work)
        args = [
            sys.executable,
            "-m",
            "fuzz.harness",
            target,
            f"-max_total_time={seconds}",
            "-print_final_stats=1",
            "-rss_limit_mb=1024",
            "-timeout=10",
            "-max_len=4096",
            f"-artifact_prefix={CRASHES}/{target}-",
        ]
        if (DICTS / f"{target}.dict").exists():
            args.append(f"-dict={DICTS / f'{target}.dict'}")
        args.append(str(work))
        started = time.monotonic()
        proc = subprocess.run(
            args,
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        elapsed = time.monotonic() - started
        corpus = sum(1 for _ in work.iterdir())
    log = proc.stderr
    inputs = int(m.group(1)) if (m := _STAT.search(log)) else 0
    covs = _COV.findall(log)
    coverage = int(covs[-1][0]) if covs else 0
    crash = None
    detail = ""
    if proc.returncode != 0:
        found = re.search(r"Test unit written to (\S+)", log)
        crash = found.group(1) if found else None
        tail = [ln for ln in log.splitlines() if ln.strip()][-25:]
        detail = "\n".join(tail)
    return Outcome(
        target, round(elapsed, 1), inputs, corpus, coverage, proc.returncode == 0, crash, detail
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per target (default 10)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="repeatable")
    parser.add_argument("--json", action="store_true", help="one JSON line per target")
    opts = parser.parse_args(argv)
    failed = False
    for target in opts.target or TARGETS:
        outcome = run_target(target, opts.seconds)
        failed |= not outcome.ok
        if opts.json:
            print(json.dumps(asdict(outcome)), flush=True)
        else:
            state = "ok" if outcome.ok else f"FOUND {outcome.crash}"
            print(
                f"{target:12} {outcome.inputs:>9} inputs  {outcome.coverage:>5} cov  "
                f"{outcome.corpus:>5} corpus  {outcome.seconds:>6}s  {state}",
                flush=True,
            )
            if not outcome.ok:
                print(outcome.detail, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
