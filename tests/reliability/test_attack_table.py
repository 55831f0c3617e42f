"""The attack table (docs/reliability.md section 8) names tests that exist, and its
status line says which attacks no longer end as the table says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.reliability.attack_table import DOC, Row, Unresolved, render, rows


def test_every_row_names_tests_that_exist() -> None:
    table = rows()
    assert len(table) >= 25
    assert all(r.nodes for r in table)
    squat = [r for r in table if "squat" in r.attack or "permit id" in r.attack]
    assert squat, "the permit-id rows are in the table"


def test_a_row_naming_a_missing_test_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "reliability.md"
    text = DOC.read_text("utf-8")
    doc.write_text(
        text.replace(
            "`test_tamper_attestation.py` |", "`test_tamper_attestation.py::test_no_such` |", 1
        ),
        "utf-8",
    )
    with pytest.raises(Unresolved, match="test_no_such"):
        rows(doc)


def test_the_status_line_names_each_attack_that_changed() -> None:
    table = [Row("forged export", ("a.py",)), Row("squatted id", ("b.py", "c.py::t"))]
    text = render(table, {"a.py": True, "b.py": True, "c.py::t": False}, datetime.now(UTC))
    assert "1 of 2 attacks" in text and "**changed**: squatted id" in text
    assert "forged export" not in text
