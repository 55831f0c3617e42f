"""Every shipped atmosphere case under every profile, through the API and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from permits.atmosphere import evaluate, parse_test
from permits.errors import InvalidInput
from permits.profiles import list_profiles, load_profile

DATA = Path(__file__).resolve().parent.parent / "data" / "atmosphere"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text("utf-8"))
CASES = [(case, profile) for case, by in sorted(EXPECTED.items()) for profile in sorted(by)]


def _reason_set(reasons: list[Any]) -> set[tuple[Any, Any, Any]]:
    return {(r[0], r[1], r[2]) for r in reasons}


def test_every_profile_is_covered() -> None:
    for by_profile in EXPECTED.values():
        assert set(by_profile) == set(list_profiles())


@pytest.mark.parametrize(("case", "profile"), CASES)
def test_case_through_api(case: str, profile: str) -> None:
    expected = EXPECTED[case][profile]
    data = json.loads((DATA / case).read_text("utf-8"))
    if "exit" in expected:
        with pytest.raises(InvalidInput):
            parse_test(data)
        return
    verdict = evaluate(parse_test(data), load_profile(profile))
    assert verdict.acceptable is expected["acceptable"]
    assert {(r.code, r.point, r.channel) for r in verdict.reasons} == _reason_set(
        expected["reasons"]
    )
    assert verdict.profile == profile


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "atmosphere", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CSPERMIT_LANG": "en"},
    )


@pytest.mark.parametrize(("case", "profile"), CASES)
def test_case_through_cli(case: str, profile: str) -> None:
    expected = EXPECTED[case][profile]
    run = _cli("check", "--profile", profile, str(DATA / case))
    assert "Traceback" not in run.stderr
    if "exit" in expected:
        assert run.returncode == expected["exit"]
        assert run.stdout == ""
        assert "samples[0].readings[3].unit" in run.stderr
        return
    out = json.loads(run.stdout)
    assert run.returncode == (0 if expected["acceptable"] else 1)
    assert out["acceptable"] is expected["acceptable"]
    assert out["profile"] == profile
    got = {(r["code"], r.get("point"), r.get("channel")) for r in out["reasons"]}
    assert got == _reason_set(expected["reasons"])
    assert len(run.stdout.strip().splitlines()) == 1


def test_cli_default_profile_is_gongmao() -> None:
    run = _cli("check", str(DATA / "09-o2-21.3.json"))
    assert run.returncode == 0
    assert json.loads(run.stdout)["profile"] == "cn-gongmao"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "line 1"),
        ('{"entry_at": NaN}', "NaN"),
        ('{"entry_at": "x", "entry_at": "y"}', "entry_at"),
        ("[]", "(document)"),
        ("{}", "entry_at"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ('{"entry_at": Infinity}', "Infinity"),
    ],
)
def test_cli_bad_json_exits_2_with_message(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(content, "utf-8")
    run = _cli("check", str(path))
    assert run.returncode == 2
    assert run.stdout == ""
    assert needle in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_unreadable_file_and_unknown_profile_exit_2(tmp_path: Path) -> None:
    missing = _cli("check", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "nope.json" in missing.stderr
    unknown = _cli("check", "--profile", "eu-atex", str(DATA / "01-clean-air.json"))
    assert unknown.returncode == 2
    for name in list_profiles():
        assert name in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def test_cli_override_only_stricter(tmp_path: Path) -> None:
    stricter = tmp_path / "acme.toml"
    stricter.write_text('name = "acme"\n[flammable]\nmax_lel = 5.0\n', "utf-8")
    run = _cli("check", "--override", str(stricter), str(DATA / "10-methane-9pct-lel.json"))
    assert run.returncode == 1
    out = json.loads(run.stdout)
    assert out["profile"] == "cn-gongmao+acme"
    assert [r["code"] for r in out["reasons"]] == ["FLAMMABLE_HIGH"]
    looser = tmp_path / "loose.toml"
    looser.write_text("[flammable]\nmax_lel = 20.0\n", "utf-8")
    run = _cli("check", "--override", str(looser), str(DATA / "11-methane-12pct-lel.json"))
    assert run.returncode == 2
    assert "flammable.max_lel" in run.stderr and "20.0" in run.stderr and "10.0" in run.stderr


def test_cli_profiles_lists_sources() -> None:
    run = _cli("profiles", "--json")
    assert run.returncode == 0
    listing = json.loads(run.stdout)
    assert [p["name"] for p in listing] == list_profiles()
    assert [p["name"] for p in listing if p["default"]] == ["cn-gongmao"]
    for item in listing:
        assert set(item["rule_sources"]) >= {"oxygen", "flammable", "toxic", "test_max_age"}
        assert all(item["rule_sources"].values())


def test_cli_speaks_chinese_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CSPERMIT_LANG"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cspermit.cli",
            "atmosphere",
            "check",
            "--explain",
            str(DATA / "02-o2-low-at-bottom.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert run.returncode == 1
    assert "O2_LOW" in run.stderr
    # Chinese only when the catalogue is compiled (python -m cspermit.i18n_build).
    mo = Path(__file__).resolve().parents[2] / "permits/locale/zh_CN/LC_MESSAGES/permits.mo"
    if mo.exists() and b"\xe6\xb0\xa7" in mo.read_bytes():  # 氧
        assert "氧含量过低" in run.stderr


def test_cli_reads_stdin() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cspermit.cli",
            "atmosphere",
            "check",
            "-p",
            "us-osha-1910.146",
            "-",
        ],
        input=(DATA / "03-h2s-8ppm-bottom.json").read_text("utf-8"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CSPERMIT_LANG": "en"},
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["acceptable"] is True
