"""`cspermit server ...` commands: seed-demo, create-account, and that each is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.sync_server.conftest import World

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "server", *args],
        capture_output=True,
        text=True,
        input=input_text,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "CSPERMIT_LANG": "en"},
    )


def test_every_server_command_is_documented() -> None:
    from cspermit.cli.server import app

    doc = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    names = [c.name for c in app.registered_commands]
    assert {"run", "seed-demo", "create-account"} <= set(names)
    for name in names:
        assert f"cspermit server {name}" in doc, name


@pytest.mark.slow
def test_seed_demo_then_sign_in_as_the_documented_accounts(tmp_path: Path) -> None:
    from sync_server.app import create_app
    from sync_server.settings import Settings
    from tests.sync_server.conftest import ASGIClient, sign_in

    url = f"sqlite:///{tmp_path}/demo.db"
    first = cli("seed-demo", "--db", url)
    assert first.returncode == 0, first.stderr
    again = cli("seed-demo", "--db", url)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    app = create_app(Settings(db_url=url))
    client = ASGIClient(app)
    try:
        for user, pw in (
            ("bureau", "bureau-demo"),
            ("a-admin", "a-admin-demo"),
            ("b-admin", "b-admin-demo"),
        ):
            sign_in(client, user, pw)
        token = sign_in(client, "bureau", "bureau-demo")
        h = {"Authorization": f"Bearer {token}"}
        ents = client.get("/api/v1/enterprises", headers=h).json()
        assert {e["enterprise_id"] for e in ents} == {"ent-a", "ent-b"}
        spaces = client.get("/api/v1/enterprises/ent-a/spaces", headers=h).json()
        assert spaces, "the demo ledger is empty"
        permits = client.get("/api/v1/permits?limit=200", headers=h).json()
        statuses = {p["status"] for p in permits["items"]}
        assert {"closed", "cancelled", "active"} <= statuses, statuses
        alarmed = client.get("/api/v1/permits?anomaly=EVACUATION_ORDERED", headers=h).json()
        assert alarmed["total"] == 2  # one per enterprise
        hazards = client.get("/api/v1/hazards?source=automatic", headers=h).json()
        assert {x["rule_code"] for x in hazards["items"]} >= {
            "ENTRY_WITHOUT_APPROVAL",
            "ENTRY_WITHOUT_PASSING_TEST",
            "ENTRY_WITHOUT_GUARDIAN",
        }
        for item in permits["items"]:
            trace = client.get(f"/api/v1/permits/{item['permit_id']}", headers=h).json()
            assert trace["verification"]["ok"], trace["verification"]
            assert not trace["readings"]["missing"]
    finally:
        client.close()
        app.state.engine.dispose()


def test_create_account_reads_the_password_and_refuses_a_bad_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    ok = cli(
        "create-account",
        "--db",
        url,
        "--username",
        "yn-feed",
        "--role",
        "aggregator",
        "--jurisdiction",
        "53",
        input_text="feed-password\nfeed-password\n",
    )
    assert ok.returncode == 0, ok.stderr
    bad = cli(
        "create-account",
        "--db",
        url,
        "--username",
        "x",
        "--role",
        "king",
        "--password",
        "whatever1",
    )
    assert bad.returncode == 2 and "--role" in bad.stderr
    short = cli(
        "create-account",
        "--db",
        url,
        "--username",
        "y",
        "--role",
        "operator",
        "--password",
        "short",
    )
    assert short.returncode == 2 and "PASSWORD_TOO_SHORT" in short.stderr


def test_server_export_passes_cspermit_permit_verify(tmp_path: Path, world: World) -> None:
    import json

    from tests.sync_server.chains import enroll_tablet, simple_permit

    w = world
    tab = enroll_tablet(w.client, w.h("a-admin"))
    w.client.post(
        "/api/v1/sync/events",
        json={"events": simple_permit(tab, "PV-1")},
        headers=tab.headers,
    )
    data = w.client.get("/api/v1/permits/PV-1/export.json", headers=w.h("bureau")).json()
    key = w.client.get("/api/v1/server-key").json()["public_key"]
    path = tmp_path / "PV-1.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    ok = verify_offline(path, key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["valid"] is True
    data["events"][1]["sig"] = data["events"][0]["sig"]
    path.write_text(json.dumps(data), encoding="utf-8")
    bad = verify_offline(path, key)
    assert bad.returncode != 0 and json.loads(bad.stdout)["code"] == "BAD_SIGNATURE"


def verify_offline(path: Path, key: str) -> subprocess.CompletedProcess[str]:
    """``cspermit permit verify PATH --server-key KEY`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "permit", "verify", str(path), "--server-key", key],
        capture_output=True,
        text=True,
        timeout=60,
    )
