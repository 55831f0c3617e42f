"""A permit pushed the way the tablet app pushes it — its own columnar readings chunks
(``permits.chunks``, as its recorder writes them), over the real sync API from an
enrolled device — reaches the trace chart and the PDF. The enterprise is in another
county, so the demo's counts and the bureau's view are untouched (and the county-530102
reviewer gets a 404)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from cspermit.demo.permit_history import Writer, _enter, _prepare, _space, h2s_alarm
from cspermit.demo.seed import DEMO_DETECTORS, DEMO_PEOPLE, DEMO_SPACES
from permits.chunks import chunk_hash, encode_chunk
from permits.events import (
    DetectorIdentity,
    EntrantExited,
    EvacuationOrdered,
    ReadingsChunkRecorded,
)
from permits.integrity import DeviceKey
from permits.readings import Channel, Reading, Unit
from permits.reference.uscc import uscc_check_char
from tests.web.conftest import DemoServer, sign_in

PERMIT = "T-2026-0001"


def _token(c: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_tablet_chunks_reach_the_trace_chart_and_the_pdf(demo_server: DemoServer) -> None:
    with demo_server.client() as api:
        op = _token(api, "operator", "operator-demo")
        first17 = "91530199MA6K8TT0Q"
        r = api.post(
            "/api/v1/enterprises",
            json={
                "enterprise_id": "ent-t",
                "name": "测试化工有限公司 (test chemicals)",
                "credit_code": first17 + uscc_check_char(first17),
                "jurisdiction": "530199",
                "details": {},
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        r = api.post(
            "/api/v1/accounts",
            json={
                "username": "t-admin",
                "password": "t-admin-password",
                "role": "enterprise_admin",
                "enterprise_id": "ent-t",
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        admin = _token(api, "t-admin", "t-admin-password")
        code = api.post("/api/v1/enrollments", json={"label": "tablet"}, headers=admin).json()
        key = DeviceKey.generate("pending")
        enrolled = api.post(
            "/api/v1/devices",
            json={"code": code["code"], "public_key": key.public_b64(), "label": "罐区平板"},
        ).json()
        key = DeviceKey(enrolled["device_id"], key.private_key)
        device = {"Authorization": f"Bearer {enrolled['token']}"}

        # The permit, written with the core's commands like the demo history.
        now = datetime.now(UTC)
        people = DEMO_PEOPLE["ent-a"]
        names = {pid: (name, authority) for pid, name, authority in people}
        roles = {
            "leader": "a-p-zhao",
            "approver": "a-p-zhao",
            "guardian": "a-p-sun",
            "entrants": "a-p-li",
        }
        space = _space(DEMO_SPACES["ent-a"][0])
        serial = DEMO_DETECTORS["ent-a"][0]["serial"]
        w = Writer(PERMIT, key, now - timedelta(hours=1))
        detector = DetectorIdentity(
            serial=serial,
            model="four-gas",
            calibration_due=now.date() + timedelta(days=90),
            last_bump_test=w.at - timedelta(hours=1),
        )
        _prepare(w, "ent-t", space, roles, detector, now.date(), names, "H2S")
        _enter(w, space, detector, ["a-p-li"], "a-p-zhao")
        # One minute of 1-second readings in the tablet's own chunk format; H2S climbs.
        start = w.at
        readings = []
        for s in range(60):
            at = start + timedelta(seconds=s)
            readings.append(Reading(serial, Channel.O2, 20.9, Unit.VOL, received_at=at))
            readings.append(
                Reading(serial, Channel.H2S, round(0.15 * s, 2), Unit.PPM, received_at=at)
            )
        data = encode_chunk(readings)
        w.step(
            ReadingsChunkRecorded(
                sha256=chunk_hash(data),
                detector_serial=serial,
                start=start,
                end=start + timedelta(seconds=59),
                channels=("O2", "H2S"),
                values=len(readings),
            ),
            actor="a-p-sun",
            minutes=1,
        )
        h2s_alarm(w, "a-p-sun", 8.85, minutes=0.1)  # the limit from the default profile
        w.step(EvacuationOrdered(reason="H2S"), actor="a-p-sun", minutes=0.1)
        w.step(EntrantExited(entrant_id="a-p-li"), actor="a-p-sun", minutes=0.5)

        put = api.put(f"/api/v1/sync/chunks/{chunk_hash(data)}", content=data, headers=device)
        assert put.status_code == 201, put.text
        pushed = api.post("/api/v1/sync/events", json={"events": w.out.events}, headers=device)
        assert pushed.status_code == 200 and pushed.json()["rejected"] == 0, pushed.text

    with demo_server.client() as page:
        sign_in(page, "t-admin", "t-admin-password")
        trace = page.get(f"/web/permits/{PERMIT}")
        assert trace.status_code == 200
        blob = re.search(
            r'<script type="application/json" id="readings-data">(.*?)</script>', trace.text, re.S
        )
        assert blob
        charts = {c["channel"]: c for c in json.loads(blob.group(1))["channels"]}
        h2s = charts["H2S"]
        assert len(h2s["points"]) == 60 and max(v for _, v in h2s["points"]) == 8.85
        assert h2s["alarms"] and h2s["alarms"][0]["y"] == 8.85
        assert "读数数据块：应有 1，已收到 1，缺失 0" in trace.text
        assert "无法读取" not in trace.text
        pdf = page.get(f"/api/v1/permits/{PERMIT}/export.pdf")
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
        ).stdout.decode()
        assert re.search(r"H2S\s+ppm\s+60\s+0\s+8\.85", text), text
        assert "罐区平板" in text  # the signing tablet, by its label

    with demo_server.client() as other:
        sign_in(other, "bureau", "bureau-demo")  # county 530102; this enterprise is 530199
        assert other.get(f"/web/permits/{PERMIT}").status_code == 404
