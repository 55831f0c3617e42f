"""`cspermit permit ...`: the exit codes and JSON are a contract.

The main paths run the installed command in a real subprocess; the many
input-error variants run the same Typer app in-process (``CliRunner``), because
each subprocess pays the whole CLI's import time (seconds on the shared build
machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cspermit.cli import app
from cspermit.demo.molasses_tank import ready_to_enter
from permits.integrity import DeviceKey, export_chain

from .test_replay import _enter

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSPERMIT_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "permit", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def inproc(*args: str | Path) -> Result:
    """The same command through the Typer app in this process (English messages)."""
    from permits.i18n import get_language, set_language

    previous = get_language()
    set_language("en")
    try:
        done = CliRunner().invoke(app, ["permit", *map(str, args)])
    finally:
        set_language(previous)
    return Result(done.exit_code, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo.json"
    done = cli("demo-export", out)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 44
    return out


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def keys_of(demo: Path) -> Path:
    return demo.with_name(demo.stem + ".keys.json")


def test_demo_export_verifies_with_its_pinned_device_key(demo: Path) -> None:
    done = cli("verify", demo, "--keys", keys_of(demo))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["valid"] is True and out["count"] == 44 and out["permit_id"] == "PMT-2026-0001"
    assert out["anchor"] == "pinned-keys"


def test_without_a_trust_anchor_a_consistent_chain_is_not_called_valid(demo: Path) -> None:
    done = cli("verify", demo)
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert (out["valid"], out["code"], out["anchor"]) == (False, "NOT_ANCHORED", "none")
    assert out["count"] == 44 and "signatures" in out["checked"] and out["keys_from"] == "file"
    assert "--server-key" in out["reason"]


def test_pinned_keys_replace_the_files_own(demo: Path, tmp_path: Path) -> None:
    data = json.loads(demo.read_text(encoding="utf-8"))
    stranger = DeviceKey.generate("TAB-SUGAR-01").public_b64()
    pinned = _write(tmp_path / "pinned.json", {"TAB-SUGAR-01": stranger})
    done = inproc("verify", demo, "--keys", pinned)
    assert done.returncode == 1
    assert json.loads(done.stdout)["code"] == "BAD_SIGNATURE"
    data["devices"] = {"TAB-SUGAR-01": stranger}  # the file's own key no longer counts
    swapped = _write(tmp_path / "swapped.json", data)
    assert inproc("verify", swapped, "--keys", keys_of(demo)).returncode == 0


def test_tampered_chain_exits_1_naming_the_first_bad_seq(demo: Path, tmp_path: Path) -> None:
    data = json.loads(demo.read_text(encoding="utf-8"))
    data["events"][4]["actor"] = "P-FORGED"
    data["events"][20]["actor"] = "P-FORGED"
    done = cli("verify", _write(tmp_path / "bad.json", data), "--keys", keys_of(demo))
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert (out["valid"], out["seq"], out["code"]) == (False, 5, "BAD_HASH")
    assert out["reason"]


def test_bare_list_needs_keys(demo: Path, tmp_path: Path) -> None:
    data = json.loads(demo.read_text(encoding="utf-8"))
    bare = _write(tmp_path / "bare.json", data["events"])
    done = inproc("verify", bare)
    assert done.returncode == 1
    assert json.loads(done.stdout)["code"] == "UNKNOWN_DEVICE"
    keys = _write(tmp_path / "keys.json", data["devices"])
    assert inproc("verify", bare, "--keys", keys).returncode == 0


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"events": [], "events": []}', "duplicate key"),
        ('{"events": [NaN]}', "NaN"),
        ("42", "events"),
        ('{"events": {}}', "events"),
    ],
)
def test_unreadable_input_exits_2_with_a_message(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = inproc("verify", path)
    assert done.returncode == 2
    assert needle in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_unreadable_file_exits_2_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text("{not json", encoding="utf-8")
    done = cli("verify", path)
    assert done.returncode == 2 and "not valid JSON" in done.stderr and done.stdout == ""


def test_bad_keys_file_exits_2(demo: Path, tmp_path: Path) -> None:
    done = inproc("verify", demo, "--keys", _write(tmp_path / "k.json", ["x"]))
    assert done.returncode == 2 and "device_id" in done.stderr


def test_replay_of_the_demo_is_clean(demo: Path) -> None:
    done = cli("replay", demo, "--keys", keys_of(demo), "--now", "2026-11-28T12:00:00+08:00")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["state"]["status"] == "closed"
    assert out["violations"] == [] and out["findings"] == []
    assert out["integrity"]["valid"] is True and out["replayed_events"] == 44


def test_replay_reports_violations_and_findings(tmp_path: Path) -> None:
    key = DeviceKey.generate("TAB-SUGAR-01")
    s = ready_to_enter(key, skip=["approval"])
    _enter(s)
    devices = {key.device_id: key.public_b64()}
    path = _write(tmp_path / "p.json", export_chain(s.events, devices))
    keys = _write(tmp_path / "p.keys.json", devices)
    done = cli("replay", path, "--keys", keys, "--now", "2026-11-28T09:00:00+08:00")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["integrity"]["valid"] is True  # a validly signed chain can still break rules
    assert out["violations"][0]["unmet"][0]["code"] == "PERMIT_NOT_APPROVED"
    assert out["findings"][0]["code"] == "ENTRY_WITHOUT_APPROVAL"
    assert out["state"]["inside"] == ["P-ZHANG"]


def test_replay_judges_expiry_at_now(demo: Path, tmp_path: Path) -> None:
    data = json.loads(demo.read_text(encoding="utf-8"))
    data["events"] = data["events"][:30]  # cut before the close: still open
    path = _write(tmp_path / "open.json", data)
    out = json.loads(inproc("replay", path, "--now", "2026-12-01T00:00:00+08:00").stdout)
    assert out["state"]["status"] == "expired"


def test_replay_with_a_naive_now_exits_2(demo: Path) -> None:
    done = inproc("replay", demo, "--now", "2026-11-28T12:00:00")
    assert done.returncode == 2 and "--now" in done.stderr


def test_every_permit_command_is_documented() -> None:
    doc = (ROOT / "docs" / "permit-lifecycle.md").read_text(encoding="utf-8")
    for command in ("permit verify", "permit replay", "permit demo-export"):
        assert f"cspermit {command}" in doc
