"""Every reason code whose rule reads ledger data (``permits.commands.codes.
LEDGER_RULE_CODES``) has an end-to-end test in this package marked with it, and the table
in docs/rules.md names that test: a rule that exists only in unit tests fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from permits.commands.codes import LEDGER_RULE_CODES
from permits.messages import _MESSAGES

HERE = Path(__file__).resolve().parent
RULES_MD = HERE.parent.parent / "docs" / "rules.md"


def proven() -> dict[str, str]:
    """code -> ``file::test`` of each test marked ``@pytest.mark.ledger_rule(code)``."""
    out: dict[str, str] = {}
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr == "ledger_rule"
                    and deco.args
                    and isinstance(deco.args[0], ast.Constant)
                ):
                    out[str(deco.args[0].value)] = f"{path.name}::{node.name}"
    return out


def test_every_ledger_rule_code_has_an_end_to_end_test() -> None:
    missing = sorted(set(LEDGER_RULE_CODES) - set(proven()))
    assert missing == [], f"ledger rules with no end-to-end test in tests/e2e: {missing}"


def test_every_marked_test_proves_a_listed_code() -> None:
    # A marker naming a code outside the list is a typo or a list that fell behind.
    assert sorted(set(proven()) - set(LEDGER_RULE_CODES)) == []


def test_every_listed_code_is_a_registered_reason_code() -> None:
    assert sorted(c for c in LEDGER_RULE_CODES if c not in _MESSAGES) == []


def test_the_rule_book_lists_each_ledger_rule_and_its_test() -> None:
    text = RULES_MD.read_text("utf-8")
    table = text.split("## Every ledger fact reaches its rule", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in table.splitlines()
        if line.startswith("| `")
    }
    for code, test in proven().items():
        assert code in rows, f"docs/rules.md has no row for {code}"
        assert test.split("::")[1] in rows[code], f"{code}'s row does not name {test}"
