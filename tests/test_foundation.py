"""The shared pieces every package stands on: the reading model, status flags, i18n, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits import RuleViolation, Unmet
from permits.i18n import get_language, set_language
from permits.readings import STATUS_BITS, StatusFlag, flags_from_byte, flags_to_byte, sorted_flags


def test_status_bits_match_the_protocol_table() -> None:
    assert flags_from_byte(0x01) == {StatusFlag.FAULT}
    assert flags_from_byte(0x12) == {StatusFlag.WARMUP, StatusFlag.ALARM_LOW}
    assert flags_from_byte(0x80) == frozenset()  # undefined bit carries no flag
    assert sorted_flags(flags_from_byte(0x7F)) == [f.value for f in STATUS_BITS]


@given(st.integers(min_value=0, max_value=0x7F))
def test_status_byte_round_trip(byte: int) -> None:
    assert flags_to_byte(flags_from_byte(byte)) == byte


def test_rule_violation_lists_every_unmet_condition() -> None:
    err = RuleViolation([Unmet("A_CODE", {"x": 1}), Unmet("B_CODE")])
    assert err.codes == ["A_CODE", "B_CODE"]
    assert "A_CODE" in str(err) and "B_CODE" in str(err)
    with pytest.raises(ValueError):
        RuleViolation([])


def test_language_defaults_to_chinese_and_rejects_unknown() -> None:
    before = get_language()
    try:
        set_language("en")
        assert get_language() == "en"
        with pytest.raises(ValueError):
            set_language("fr")
    finally:
        set_language(before)


def test_cli_lists_every_group() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    ).stdout
    for group in ("atmosphere", "permit", "simops", "detector", "sim", "server", "tablet"):
        assert group in out


# Packages a cheap command must not load at start-up: each costs 0.1-1 s on a tablet.
HEAVY = (
    "sensor_drivers",
    "hil_sim",
    "numpy",
    "sqlalchemy",
    "kivy",
    "fastapi",
    "uvicorn",
    "bleak",
    "serial",
    "minimalmodbus",
    "pymodbus",
    "sync_server",
    "tablet_app",
)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["atmosphere", "check", "tests/data/atmosphere/01-clean-air.json"],
        ["permit", "verify", "tests/data/permits/does-not-exist.json"],
        ["simops", "check", "tests/data/simops/plan-conflict.json"],
    ],
    ids=["help", "atmosphere-check", "permit-verify", "simops-check"],
)
def test_cheap_commands_do_not_import_heavy_packages(argv: list[str]) -> None:
    # Run the real command, then list which heavy packages it loaded (measured in
    # docs/cli.md: start-up fell from ~1.3 s to ~0.2 s of imports).
    probe = (
        "import sys\n"
        "from cspermit.cli import app\n"
        f"try:\n    app({argv!r})\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]", out


PRODUCT_PACKAGES = ("permits", "sensor_drivers", "tablet_app", "sync_server", "hil_sim", "cspermit")
# Small modules named from the domain (docs/architecture.md): a module past this size has
# more than one job. Migrations are a record of the schema's history and are exempt.
MAX_MODULE_LINES = 700


def test_no_product_module_is_over_the_size_limit() -> None:
    root = Path(__file__).resolve().parents[1]
    too_long = {
        str(path.relative_to(root)): n
        for package in PRODUCT_PACKAGES
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long
