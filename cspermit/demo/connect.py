"""A tablet joined to a running server (``cspermit tablet connect``, for
``scripts/run.sh``): enrolled with an enrolment code made on the web pages, or by the
enterprise admin (whose password the CLI reads from the environment or the terminal,
never its command line); the simulator's detectors in the enterprise's ledger, the
ledger pulled into the tablet; with ``demo_pins``, demo PINs for the ledger's people who
have none. DEMO ONLY."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AdminNeeded(Exception):
    """What was asked needs the enterprise admin, and no password was given."""


async def connect(
    server: str,
    db: Path,
    admin: tuple[str, str] | None,
    sim_endpoints: Path | None,
    detector: str,
    demo_pins: bool,
    *,
    code: str | None = None,
    label: str = "演示平板",
) -> dict[str, Any]:
    """Returns the report: device id, the detector to read, people and their demo PINs.

    ``code``: an enrolment code (or the QR's text) made on the devices page; without
    one the admin makes a code. The admin (``(username, password)``) is needed for that,
    for the simulator's detectors and for demo PINs (:class:`AdminNeeded` otherwise)."""
    from permits.enrolment_code import parse_enrolment_code
    from tablet_app.context import AppContext
    from tablet_app.desk import PermitDesk
    from tablet_app.store import Store
    from tablet_app.sync_client import SyncClient
    from tablet_app.syncing import enroll_device, sync_all

    scanned = parse_enrolment_code(code) if code is not None else None
    if scanned is not None and scanned.server:
        server = scanned.server  # the QR's text names the server it was made on
    report: dict[str, Any] = {"server": server, "demo_pins": {}}
    endpoints: list[dict[str, Any]] = []
    if sim_endpoints is not None:
        for line in sim_endpoints.read_text("utf-8").splitlines():
            row = json.loads(line) if line.startswith("{") else {}
            if "serial" in row:
                endpoints.append(row)
    enrolled_before = False
    with Store(db) as store:
        PermitDesk(AppContext(store=store))  # makes the device key
        store.set_setting("server_url", server)
        enrolled_before = bool(store.get_setting("device_token"))
        needs_admin = bool(endpoints) or demo_pins or (scanned is None and not enrolled_before)
        if needs_admin and admin is None:
            raise AdminNeeded(
                "the simulator's detectors, demo PINs and an enrolment without a code need"
                " the enterprise admin: set CSPERMIT_ADMIN_PASSWORD or give --code"
            )
        if scanned is not None and not enrolled_before:
            async with SyncClient(server) as device:
                await enroll_device(store, device, scanned.code, label)
        if admin is not None and needs_admin:
            await _as_admin(store, server, admin, endpoints, detector, demo_pins, label, report)
        report["device_id"] = store.get_setting("device_id")
        async with SyncClient(server, token=store.get_setting("device_token")) as device:
            result = await sync_all(store, device)
        report["reference"] = result["reference"]
    return report


async def _as_admin(
    store: Any,
    server: str,
    admin: tuple[str, str],
    endpoints: list[dict[str, Any]],
    detector: str,
    demo_pins: bool,
    label: str,
    report: dict[str, Any],
) -> None:
    from datetime import UTC, date, datetime

    from tablet_app.pins import hash_pin
    from tablet_app.sync_client import SyncClient
    from tablet_app.syncing import enroll_device

    async with SyncClient(server) as adm:
        await adm.sign_in(*admin)
        who = (await adm._request("GET", "/api/v1/auth/me")).json()
        eid = str(who["enterprise_id"])
        report["enterprise_id"] = eid
        base = f"/api/v1/enterprises/{eid}"
        for ep in endpoints:
            # the simulated detectors join the ledger like real ones: calibrated, bumped
            await adm._request(
                "PUT",
                f"{base}/detectors/{ep['serial']}",
                json={
                    "serial": ep["serial"],
                    "model": ep["detector"],
                    "vendor": "hil_sim",
                    "protocol": ep["protocol"],
                    "channels": ["O2", "H2S", "LEL", "CO"],
                    "calibration_due": date(date.today().year + 1, 1, 1).isoformat(),
                    "bump_tests": [
                        {
                            "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                            "passed": True,
                            "by": "run.sh",
                        }
                    ],
                },
            )
        chosen = next((e for e in endpoints if e["detector"] == detector), None)
        if chosen is not None and chosen.get("port"):
            store.set_setting("detector", {"spec": chosen["port"], "protocol": chosen["protocol"]})
            report["detector"] = {k: chosen[k] for k in ("serial", "port", "protocol")}
        pins: dict[str, str] = {}
        if demo_pins:
            people = (await adm._request("GET", f"{base}/people")).json()
            for i, item in enumerate(sorted(people, key=lambda p: p["item_id"])):
                data = dict(item["data"])
                pin = f"{i + 1}" * 4 if i < 9 else f"{i + 1:04d}"
                if not data.get("pin_hash"):
                    data["pin_hash"] = hash_pin(pin)
                    await adm._request("PUT", f"{base}/people/{item['item_id']}", json=data)
                    pins[f"{data['name']} ({item['item_id']})"] = pin
        report["demo_pins"] = pins
        if not store.get_setting("device_token"):
            code = await adm.create_enrollment_code(label)
            async with SyncClient(server) as device:
                await enroll_device(store, device, code, label)
