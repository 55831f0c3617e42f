"""The attack table of docs/reliability.md (section 8), kept current.

Each row names the tests that hold its outcome (``file.py``, ``file.py::test_name`` or
``tests/.../file.py::test_name[case]``; a bare ``::test_name`` continues the file named
before it in the row). :func:`rows` reads the table and resolves every reference to a
pytest node id; :func:`update` runs them all (``python -m tests.reliability.report``,
which ``scripts/reliability.sh`` runs) and rewrites the line between the
``attacks:begin`` and ``attacks:end`` markers with what passed, row by row.
The table's own test (``test_attack_table.py``) checks that every reference resolves.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
SECTION = "## 8. Attacks tried, and what happened"
BEGIN, END = "<!-- attacks:begin -->", "<!-- attacks:end -->"
_REF = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    attack: str
    nodes: tuple[str, ...]  # pytest node ids, relative to the project root


class Unresolved(ValueError):
    pass


def _file(name: str) -> Path:
    if "/" in name:
        path = ROOT / name
        if not path.is_file():
            raise Unresolved(f"no file {name}")
        return path
    found = sorted(p for p in (ROOT / "tests").rglob(name) if p.is_file())
    if len(found) != 1:
        raise Unresolved(f"{name}: {len(found)} files of that name under tests/")
    return found[0]


def _node(path: Path, test: str | None) -> str:
    rel = path.relative_to(ROOT).as_posix()
    if test is None:
        return rel
    function = test.split("[", 1)[0]
    if not re.search(rf"^(?:async )?def {re.escape(function)}\(", path.read_text("utf-8"), re.M):
        raise Unresolved(f"{rel} has no test {function}")
    return f"{rel}::{test}"


def rows(doc: Path = DOC) -> list[Row]:
    text = doc.read_text("utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    out = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("attack", "---") or set(cells[0]) <= {"-"}:
            continue
        nodes, current = [], None
        for ref in _REF.findall(cells[2]):
            name, _sep, test = ref.partition("::")
            if name:
                current = _file(name)
            elif current is None:
                raise Unresolved(f"{ref}: no file named before it in the row")
            nodes.append(_node(current, test or None))
        if not nodes:
            raise Unresolved(f"row {cells[0][:40]!r} names no test")
        out.append(Row(cells[0], tuple(nodes)))
    return out


def _outcomes(nodes: list[str]) -> dict[str, bool]:
    """Each node id run once; a file or a parametrised test passes when all of it does."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *sorted(set(nodes)),
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=3600,
            check=False,
        )
        cases = ET.parse(report).getroot().iter("testcase")
        results = []
        for case in cases:
            path = case.get("classname", "").replace(".", "/")
            failed = any(c.tag in ("failure", "error") for c in case)
            results.append((f"{path}.py::{case.get('name', '')}", failed))
    out = {}
    for node in nodes:
        matching = [
            failed
            for name, failed in results
            if name == node or name.startswith(node + "[") or name.startswith(node + "::")
        ]
        out[node] = bool(matching) and not any(matching)
    return out


def render(table: list[Row], outcomes: dict[str, bool], at: datetime) -> str:
    held = [r for r in table if all(outcomes.get(n, False) for n in r.nodes)]
    lines = [
        BEGIN,
        f"Last run by `scripts/reliability.sh` on {at:%Y-%m-%d}: "
        f"{len(held)} of {len(table)} attacks still end as the table says.",
    ]
    for r in table:
        if r not in held:
            lines.append(f"- **changed**: {r.attack}")
    lines.append(END)
    return "\n".join(lines)


def update(doc: Path = DOC) -> str:
    table = rows(doc)
    outcomes = _outcomes([n for r in table for n in r.nodes])
    block = render(table, outcomes, datetime.now(UTC))
    text = doc.read_text("utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + block + text[end:], "utf-8")
    return block
