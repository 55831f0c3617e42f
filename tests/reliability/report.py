"""Regenerate the figures block of docs/reliability.md:
``python -m tests.reliability.report [--fuzz-seconds N] [--chaos-runs N]
[--schemathesis-examples N]`` (scripts/reliability.sh runs it with long settings).

It runs the fuzz harnesses, the chaos runs, schemathesis and the HIL fault matrix, then
rewrites the text between the ``figures:begin`` and ``figures:end`` markers. The failing
``test_found_*`` tests are counted by running them, and the attack table's tests are run
(:mod:`tests.reliability.attack_table`)."""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.reliability import attack_table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def fuzz_figures(seconds: int) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "--seconds", str(seconds), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds * 10 + 600,
        check=False,
    )
    return [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]


def chaos_figures(runs: int) -> dict[str, Any]:
    from tests.reliability.chaos import Figures, server_run, tablet_run

    server, tablet = Figures(), Figures()
    with tempfile.TemporaryDirectory(prefix="cspermit-chaos-") as tmp:
        for i in range(runs):
            server.add(server_run(Path(tmp), 1000 + i, kill_p=0.25))
            tablet.add(tablet_run(Path(tmp), 1000 + i))
    from dataclasses import asdict

    return {"server": asdict(server), "tablet": asdict(tablet)}


def pytest_json(args: list[str], env: dict[str, str] | None = None) -> dict[str, int]:
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
        env={**os.environ, **(env or {})},
    )
    # The summary is the last line that counts outcomes (warnings or logs may follow it).
    counts: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        found = re.findall(r"(\d+) (passed|failed|skipped|error)", line)
        if found and " in " in line:
            counts = {k: int(v) for v, k in found}
    counts["returncode"] = proc.returncode
    return counts


def schemathesis_figures(examples: int) -> dict[str, Any]:
    # A throwaway test module: pytest provides the world and app fixtures.
    probe = ROOT / "tests" / "reliability" / "_report_probe_test.py"
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    probe.write_text(
        "import json\n"
        "from pathlib import Path\n"
        "from tests.reliability.test_schemathesis import run_schemathesis\n"
        "def test_probe(world, app):\n"
        f"    figures = run_schemathesis(world, app, examples={examples})\n"
        f"    Path({str(out)!r}).write_text(json.dumps(figures))\n",
        "utf-8",
    )
    try:
        counts = pytest_json([str(probe)])
    finally:
        probe.unlink(missing_ok=True)
    figures: dict[str, Any] = json.loads(out.read_text() or "{}") if out.stat().st_size else {}
    out.unlink(missing_ok=True)
    figures["passed"] = counts.get("returncode") == 0 and counts.get("passed", 0) == 1
    figures["pytest"] = counts
    return figures


def matrix_figures() -> list[dict[str, Any]]:
    from dataclasses import asdict

    from tests.reliability.hil_matrix import CASES, DETECTORS, run_in_process

    out = []
    for label in DETECTORS:
        out += [asdict(o) for o in run_in_process(label, [c.name for c in CASES], timeout_s=900)]
    return out


def render(
    fuzz: list[dict[str, Any]],
    chaos: dict[str, Any],
    schema: dict[str, Any],
    matrix: list[dict[str, Any]],
    found: dict[str, int],
    opts: Any,
) -> str:
    from tests.reliability.hil_matrix import CASES, DETECTORS, KNOWN_GAPS

    lines = [
        BEGIN,
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `scripts/reliability.sh` on "
        f"{platform.machine()} / Python {platform.python_version()} "
        f"(fuzz {opts.fuzz_seconds} s per target, {opts.chaos_runs} chaos runs, "
        f"{opts.schemathesis_examples} schemathesis examples per operation).",
        "",
        "**Fuzzing** (atheris, coverage-guided):",
        "",
        "| target | inputs run | coverage (edges) | corpus kept | findings |",
        "|---|---:|---:|---:|---|",
    ]
    for o in fuzz:
        lines.append(
            f"| `{o['target']}` | {o['inputs']:,} | {o['coverage']} | {o['corpus']} | "
            f"{'none' if o['ok'] else o['crash']} |"
        )
    total = sum(o["inputs"] for o in fuzz)
    lines += [
        "",
        f"Total: **{total:,} inputs**, {sum(1 for o in fuzz if not o['ok'])} findings.",
        "",
    ]
    s, t = chaos["server"], chaos["tablet"]
    conformance_failed = "FAILED (see pytest tests/reliability/test_schemathesis.py)"
    lines += [
        "**Sync chaos** (real uvicorn + SQLite, SIGKILL mid-batch):",
        "",
        f"* {s['runs']} runs, {s['events']} events in {s['batches']} batches; "
        f"{s['duplicates_sent']} duplicates resent, {s['reordered_batches']} batches reordered, "
        f"{s['truncated_bodies']} truncated bodies, {s['dropped_connections']} dropped "
        f"connections, **{s['server_kills']} server kills** "
        f"({s['kills_mid_batch']} with the batch unanswered), "
        f"{s['integrity_checks']} `integrity_check`s.",
        f"* Result: **{s['lost']} lost, {s['duplicated']} duplicated**, "
        f"{s['chains_verified']} chains verified, {s['chains_broken']} broken, "
        f"{len(s['unexpected'])} unexpected answers.",
        "",
        "**Tablet store crash** (SIGKILL mid-write, reopen, restart):",
        "",
        f"* {t['runs']} runs, **{t['tablet_kills']} kills**, {t['committed_before_kill']} "
        f"commits seen before the kills, {t['events']} events written in all.",
        f"* Result: **{t['lost']} lost**, {t['chains_verified']} chain checks passed, "
        f"{t['chains_broken']} broken, {t['integrity_checks']} `integrity_check`s ok.",
        "",
        f"**schemathesis**: {schema.get('operations', 0)} operations, "
        f"{schema.get('requests', 0):,} requests, **{schema.get('server_errors', 0)} 5xx**, "
        f"schema conformance {'passed' if schema.get('passed') else conformance_failed}.",
        "",
        "**HIL fault matrix** (safe state reached / cases):",
        "",
        "| fault | " + " | ".join(DETECTORS) + " |",
        "|---|" + "---|" * len(DETECTORS),
    ]
    by = {(o["detector"], o["fault"]): o for o in matrix}
    for case in CASES:
        cells = []
        for label in DETECTORS:
            o = by.get((label, case.name))
            if o is None:
                cells.append("–")
                continue
            codes = ", ".join(o["codes"]) or "values true"
            mark = "✓" if o["safe"] else ("✗ gap" if (label, case.name) in KNOWN_GAPS else "✗")
            cells.append(f"{mark} {codes}")
        lines.append(f"| {case.name} | " + " | ".join(cells) + " |")
    safe = sum(1 for o in matrix if o["safe"])
    lines += [
        "",
        f"{safe} of {len(matrix)} cases safe; the rest are the known gaps below.",
        "",
        f"**Found and left failing** (`tests/reliability/test_found_*.py`): "
        f"{found.get('failed', 0)} failing, {found.get('passed', 0)} passing.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.report")
    parser.add_argument("--fuzz-seconds", type=int, default=60)
    parser.add_argument("--chaos-runs", type=int, default=20)
    parser.add_argument("--schemathesis-examples", type=int, default=50)
    opts = parser.parse_args(argv)
    fuzz = fuzz_figures(opts.fuzz_seconds)
    chaos = chaos_figures(opts.chaos_runs)
    schema = schemathesis_figures(opts.schemathesis_examples)
    matrix = matrix_figures()
    found = pytest_json(
        sorted(str(p) for p in (ROOT / "tests" / "reliability").glob("test_found_*.py"))
    )
    block = render(fuzz, chaos, schema, matrix, found, opts)
    text = DOC.read_text("utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + block + text[end:], "utf-8")
    print(block)
    print(attack_table.update(DOC))  # section 8: every attack's tests, run again
    return 0


if __name__ == "__main__":
    sys.exit(main())
