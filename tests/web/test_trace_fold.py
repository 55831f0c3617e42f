"""The trace (page, PDF, API) tells each demo permit's story from the core's fold: the
people, the times, the isolations and the alarms (who was inside, the guardian on duty)
are what ``permits.state.apply`` says, event by event, for every permit the demo seeds."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from permits.errors import InvalidInput
from permits.events import (
    AlarmRaised,
    IsolationApplied,
    IsolationRemoved,
    IsolationVerified,
    parse_event,
)
from permits.state import PermitState, apply
from sync_server.i18n import gettext_for
from sync_server.labels import ISOLATION_METHODS, label, local_time
from sync_server.schema import events
from sync_server.security import Principal, Role
from sync_server.services import trace as trace_service
from sync_server.storage import make_engine
from tests.web.conftest import DemoServer, sign_in

_ = gettext_for("zh_CN")
OPERATOR = Principal(Role.OPERATOR, "test-operator", "test operator")


def _states(bodies: list[dict[str, Any]]) -> list[tuple[Any, PermitState, PermitState]]:
    """(event, state before, state after) for each stored event, by ``apply`` alone."""
    out = []
    state = PermitState()
    for body in bodies:
        try:
            event = parse_event(body)
        except InvalidInput:
            out.append((None, state, state))
            continue
        after = apply(state, event)
        out.append((event, state, after))
        state = after
    return out


def _name(state: PermitState, person_id: str | None) -> str:
    if not person_id:
        return ""
    person = state.people.get(person_id)
    return person.name if person else person_id


def _expected(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    history = _states(bodies)
    final = history[-1][2]
    isolations: dict[str, dict[str, Any]] = {}
    alarms: list[dict[str, Any]] = []
    for event, before, after in history:
        if event is None:
            continue
        p, at = event.payload, local_time(event.occurred_at)
        if isinstance(p, IsolationApplied):
            rec = after.isolations[p.lock_id]
            isolations.setdefault(p.lock_id, {"point_id": p.point_id, "lock_id": p.lock_id})
            isolations[p.lock_id].update(
                method=label(ISOLATION_METHODS, rec.method.value, _),
                tag_id=rec.tag_id,
                applied_by=_name(final, rec.applied_by),
                applied_at=at,
            )
        elif isinstance(p, IsolationVerified) and p.lock_id in after.isolations:
            isolations[p.lock_id].update(verified_by=_name(final, p.verified_by), verified_at=at)
        elif isinstance(p, IsolationRemoved) and p.lock_id in before.isolations:
            isolations[p.lock_id].update(removed_by=_name(final, p.removed_by), removed_at=at)
        elif isinstance(p, AlarmRaised):
            alarms.append(
                {
                    "alarm_id": p.alarm_id,
                    "at": at,
                    "inside": sorted(_name(final, x) for x in after.inside),
                    "guardian": _name(final, after.guardian),
                    "cleared_at": "",
                }
            )
        for cleared in before.alarms.keys() - after.alarms.keys():
            for alarm in alarms:
                if alarm["alarm_id"] == cleared and not alarm["cleared_at"]:
                    alarm["cleared_at"] = at
    return {
        "people": {
            pid: (person.name, {r.value for r, ids in final.roles.items() if pid in ids})
            for pid, person in final.people.items()
        },
        "times": [local_time(e.occurred_at) if e else None for e, _b, _a in history],
        "isolations": list(isolations.values()),
        "alarms": alarms,
    }


def _bureau_token(c: httpx.Client) -> str:
    r = c.post("/api/v1/auth/token", data={"username": "bureau", "password": "bureau-demo"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def demo_chains(demo_server: DemoServer) -> dict[str, list[dict[str, Any]]]:
    """The stored chain of every permit the seeded demo shows the bureau (other tests
    add permits of their own to the shared server)."""
    with httpx.Client(base_url=demo_server.url, timeout=30) as c:
        r = c.get(
            "/api/v1/permits?limit=200",
            headers={"Authorization": f"Bearer {_bureau_token(c)}"},
        )
        assert r.status_code == 200, r.text
        ids = sorted(p["permit_id"] for p in r.json()["items"])
    assert len(ids) >= 10  # both demo enterprises' histories
    engine = make_engine(f"sqlite:///{demo_server.db_path}")
    try:
        with engine.connect() as conn:
            return {
                pid: [
                    r.body
                    for r in conn.execute(
                        sa.select(events.c.body)
                        .where(events.c.permit_id == pid)
                        .order_by(events.c.seq)
                    )
                ]
                for pid in ids
            }
    finally:
        engine.dispose()


def test_every_demo_trace_shows_what_the_core_folds(
    demo_server: DemoServer, demo_chains: dict[str, list[dict[str, Any]]]
) -> None:
    engine = make_engine(f"sqlite:///{demo_server.db_path}")
    alarms_seen = 0
    try:
        with engine.connect() as conn:
            for pid, bodies in demo_chains.items():
                view = trace_service.build(conn, OPERATOR, pid, _)
                want = _expected(bodies)
                people = {p["person_id"]: (p["name"], set(p["role_codes"])) for p in view["people"]}
                assert people == want["people"], pid
                for at, row in zip(want["times"], view["timeline"], strict=True):
                    assert at is None or row["at"] == at, (pid, row["seq"])
                assert view["isolations"] == want["isolations"], pid
                shown_alarms = [
                    {
                        "alarm_id": a["alarm_id"],
                        "at": a["at"],
                        "inside": sorted(a["inside"]),
                        "guardian": a["guardian"],
                        "cleared_at": a["cleared_at"],
                    }
                    for a in view["alarms"]
                ]
                assert shown_alarms == want["alarms"], pid
                alarms_seen += len(shown_alarms)
    finally:
        engine.dispose()
    # The demo has alarms with people inside: the comparison above is not vacuous.
    assert alarms_seen > 0
    assert any(a["inside"] for want in map(_expected, demo_chains.values()) for a in want["alarms"])


def test_the_trace_page_shows_who_was_inside_at_each_alarm(
    demo_server: DemoServer, demo_chains: dict[str, list[dict[str, Any]]]
) -> None:
    with demo_server.client() as c:
        sign_in(c, "bureau", "bureau-demo")
        for pid, bodies in demo_chains.items():
            want = _expected(bodies)
            if not want["alarms"]:
                continue
            r = c.get(f"/web/permits/{pid}")
            assert r.status_code == 200, pid
            page = html.unescape(r.text)
            for alarm in want["alarms"]:
                assert alarm["at"] in page
                for person in alarm["inside"]:
                    assert person in page
                if alarm["guardian"]:
                    assert alarm["guardian"] in page


def test_the_api_trace_holds_the_events_the_view_folds(
    demo_server: DemoServer, demo_chains: dict[str, list[dict[str, Any]]]
) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=30) as c:
        token = _bureau_token(c)
        for pid, bodies in demo_chains.items():
            trace = c.get(f"/api/v1/permits/{pid}", headers={"Authorization": f"Bearer {token}"})
            assert trace.status_code == 200, pid
            assert [e["payload"] for e in trace.json()["events"]] == [
                b.get("payload") for b in bodies
            ]
