"""A hot-work permit (动火安全作业票) on the server: pushed and verified like any chain,
replayed with the hot-work rules, its findings filed as automatic hazards (GB 30871-2022
§5), the link to a confined-space permit checked against the chain the server holds,
and SIMOPS across the enterprise's open permits (docs/server.md, Hot work)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from permits.hot_work.events import LinkedPermitSnapshot
from tests.permits.test_hot_work import drafted, rostered_session
from tests.sync_server.chains import Tablet, enroll_tablet, simple_permit
from tests.sync_server.conftest import World
from tests.sync_server.hot_work_chains import START, bodies, closed_job, forged_fire


def push(w: World, tab: Tablet, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = w.client.post("/api/v1/sync/events", json={"events": events}, headers=tab.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["rejected"] == 0, body
    return body


def trace(w: World, permit_id: str) -> dict[str, Any]:
    r = w.client.get(f"/api/v1/permits/{permit_id}", headers=w.h("bureau"))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_clean_hot_work_chain_is_verified_replayed_and_listed(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    s = closed_job(tab.device_key)
    push(world, tab, bodies(s))
    t = trace(world, "HW-1")
    assert t["verification"] == {"ok": True, "events": len(s.events)}
    assert t["permit"]["permit_type"] == "hot_work" and t["permit"]["status"] == "closed"
    assert t["findings"] == [] and t["hazards"] == []
    items = world.client.get("/api/v1/permits", headers=world.h("bureau")).json()["items"]
    assert [(p["permit_id"], p["permit_type"]) for p in items] == [("HW-1", "hot_work")]


def test_a_fire_without_analysis_watcher_or_validity_files_automatic_hazards(
    world: World,
) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    s = rostered_session(tab.device_key, start=START, enterprise_id="ent-a")
    # Pushed in two batches: the second continues the replay kept from the first.
    push(world, tab, bodies(s))
    forged_fire(s, tab.device_key, START + timedelta(hours=9), watcher="P-WELD")
    push(world, tab, bodies(s)[-1:])
    t = trace(world, "HW-1")
    codes = {h["rule_code"]: h for h in t["hazards"]}
    assert set(codes) >= {
        "HOT_WORK_WITHOUT_PASSING_ANALYSIS",
        "HOT_WORK_WITHOUT_FIRE_WATCHER",
        "HOT_WORK_OUTSIDE_VALIDITY",
    }
    assert {codes[c]["category"] for c in codes if c.startswith("HOT_WORK_")} == {
        "GB 30871-2022 §5"
    }
    assert {f["code"] for f in t["findings"]} >= set(codes)
    listed = world.client.get(
        "/api/v1/permits?anomaly=HOT_WORK_WITHOUT_FIRE_WATCHER", headers=world.h("bureau")
    ).json()["items"]
    assert [p["permit_id"] for p in listed] == ["HW-1"]


def push_fire_linked_to(world: World, tab: Tablet, cs: str, seq: int, at: datetime) -> None:
    """Hot job HW-1 in T-1, its fire started at ``at`` on the tablet's view of ``cs``
    (active, at ``seq``, the tablet's head hash of it)."""
    s = rostered_session(
        tab.device_key,
        start=START,
        enterprise_id="ent-a",
        linked_permit_id=cs,
        linked_space_id="T-1",
    )
    snapshot = LinkedPermitSnapshot(
        permit_id=cs, status="active", seq=seq, head_hash=tab.head(cs), space_id="T-1"
    )
    forged_fire(s, tab.device_key, at, linked=snapshot)
    push(world, tab, bodies(s))


def fire_linked_to_a_permit_not_active(world: World) -> Tablet:
    """CS-1 approved but not active; HW-1's fire started on the tablet's view of it as
    active."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, simple_permit(tab, "CS-1", "T-1"))
    push_fire_linked_to(world, tab, "CS-1", 2, START)
    return tab


def test_a_linked_permit_that_was_not_active_is_an_anomaly_on_both_traces(
    world: World,
) -> None:
    tab = fire_linked_to_a_permit_not_active(world)
    hot = trace(world, "HW-1")
    [mismatch] = [f for f in hot["findings"] if f["code"] == "HOT_WORK_LINK_MISMATCH"]
    assert mismatch["facts"]["linked_permit_id"] == "CS-1"
    assert {f["field"] for f in mismatch["facts"]["fields"]} >= {"status"}
    assert "CS-1" in mismatch["facts"]["message"]  # in words on the trace, not a bare code
    assert "HOT_WORK_LINK_MISMATCH" in hot["permit"]["anomalies"]
    cs = trace(world, "CS-1")
    assert "HOT_WORK_LINK_MISMATCH" in cs["permit"]["anomalies"]
    assert [
        f["facts"]["hot_work_permit_id"]
        for f in cs["findings"]
        if f["code"] == "HOT_WORK_LINK_MISMATCH"
    ] == ["HW-1"]
    # A later push into the confined-space permit keeps the anomaly.
    push(world, tab, [tab.event("CS-1", drafted_filler())])
    assert "HOT_WORK_LINK_MISMATCH" in trace(world, "CS-1")["permit"]["anomalies"]


def test_a_linked_chain_pushed_after_the_fire_is_checked_when_it_arrives(
    world: World,
) -> None:
    """The hot work reaches the server before its confined-space permit (two tablets,
    one offline): nothing to compare then; the link is checked when the chain comes."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    later = simple_permit(tab, "CS-1", "T-1")  # built on the tablet, not pushed yet
    push_fire_linked_to(world, tab, "CS-1", 2, START)
    assert "HOT_WORK_LINK_MISMATCH" not in trace(world, "HW-1")["permit"]["anomalies"]
    push(world, tab, later)
    hot = trace(world, "HW-1")
    [mismatch] = [f for f in hot["findings"] if f["code"] == "HOT_WORK_LINK_MISMATCH"]
    assert mismatch["facts"]["linked_permit_id"] == "CS-1"
    assert {f["field"] for f in mismatch["facts"]["fields"]} >= {"status"}  # approved only
    assert "HOT_WORK_LINK_MISMATCH" in hot["permit"]["anomalies"]
    cs = trace(world, "CS-1")
    assert "HOT_WORK_LINK_MISMATCH" in cs["permit"]["anomalies"]
    # checked once: a later push into the confined-space permit adds no second finding
    push(world, tab, [tab.event("CS-1", drafted_filler())])
    again = trace(world, "HW-1")["findings"]
    assert len([f for f in again if f["code"] == "HOT_WORK_LINK_MISMATCH"]) == 1


def test_a_linked_chain_in_batches_is_judged_only_once_held_as_far_as_the_fire_saw(
    world: World,
) -> None:
    """A long chain arrives in batches: a batch short of the seq the fire start saw
    contradicts nothing (a finding then would be false and kept forever); the batch
    that brings that seq is where the link is checked."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    later = simple_permit(tab, "CS-1", "T-1")
    push_fire_linked_to(world, tab, "CS-1", 2, START)
    push(world, tab, later[:1])
    assert not [
        f for f in trace(world, "HW-1")["findings"] if f["code"] == "HOT_WORK_LINK_MISMATCH"
    ]
    assert "HOT_WORK_LINK_MISMATCH" not in trace(world, "CS-1")["permit"]["anomalies"]
    push(world, tab, later[1:])
    hot = trace(world, "HW-1")
    [mismatch] = [f for f in hot["findings"] if f["code"] == "HOT_WORK_LINK_MISMATCH"]
    fields = {f["field"] for f in mismatch["facts"]["fields"]}
    assert "status" in fields and "head_hash" not in fields, fields  # judged on the whole chain


def drafted_filler() -> Any:
    from tests.sync_server.chains import filler

    return filler(1)


def test_a_simops_conflict_between_two_pushed_permits_is_listed(world: World) -> None:
    conflicting(world)


def conflicting(world: World) -> Tablet:
    """A confined-space permit CS-1 approved on T-1, a hot job HW-2 drafted in it now
    (linked: one job, no conflict between them) and a second crew's permit CS-3 on the
    same tank: two conditional conflicts, listed; the tablet that pushed all three."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, simple_permit(tab, "CS-1", "T-1"))
    now = datetime.now(UTC)
    from permits.hot_work import HotWorkSession

    s = HotWorkSession(tab.device_key)
    payload = drafted(
        enterprise_id="ent-a",
        planned_start=now - timedelta(minutes=10),
        planned_end=now + timedelta(hours=2),
        linked_permit_id="CS-1",
        linked_space_id="T-1",
    )
    s.record(payload, now - timedelta(minutes=20), actor="P-LEAD", permit_id="HW-2")
    push(world, tab, bodies(s))
    r = world.client.get("/api/v1/enterprises/ent-a/simops", headers=world.h("a-admin"))
    assert r.json()["items"] == []  # a hot job and its linked permit are one job
    push(world, tab, simple_permit(tab, "CS-3", "T-1"))
    r = world.client.get("/api/v1/enterprises/ent-a/simops", headers=world.h("a-admin"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [c["permits"] for c in items] == [["CS-1", "CS-3"], ["CS-3", "HW-2"]]
    assert all(c["verdict"] == "conditional" and c["rules"] for c in items)
    other = world.client.get("/api/v1/enterprises/ent-a/simops", headers=world.h("b-admin"))
    assert other.status_code == 404
    # The enterprise's tablets read them in their reference pull.
    pulled = world.client.get("/api/v1/sync/reference?cursor=0", headers=tab.headers).json()
    assert [c["permits"] for c in pulled["simops"]] == [["CS-1", "CS-3"], ["CS-3", "HW-2"]]
    assert (
        world.client.get("/api/v1/enterprises/ent-a/simops", headers=tab.headers).json()["items"]
        == r.json()["items"]
    )
    return tab


def test_both_confined_space_approvers_acknowledging_clears_their_conflict(
    world: World,
) -> None:
    """Each approver signs ``simops_acknowledged`` in their own chain over the digest the
    tablet computes from the core's footprints; the server, building the same
    footprints, agrees and the conflict leaves the list (the other one stays)."""
    from permits.confined_space_footprint import confined_space_footprint
    from permits.events import SignOff, SignOffMeaning, SimopsAcknowledged, parse_event
    from permits.simops import pair_digest
    from permits.state import fold

    tab = conflicting(world)
    now = datetime.now(UTC)
    chains = {
        pid: world.client.get(f"/api/v1/permits/{pid}/export.json", headers=world.h("a-admin"))
        for pid in ("CS-1", "CS-3")
    }
    assert all(r.status_code == 200 for r in chains.values()), chains
    states = {pid: fold(parse_event(e) for e in r.json()["events"]) for pid, r in chains.items()}
    digest = pair_digest(*(confined_space_footprint(states[pid], now) for pid in ("CS-1", "CS-3")))
    for pid, other in (("CS-1", "CS-3"), ("CS-3", "CS-1")):
        ack = SimopsAcknowledged(
            other_permit_id=other,
            coordinator_id="p-leader",
            digest=digest,
            signoff=SignOff(
                person_id="p-approver",
                meaning=SignOffMeaning.APPROVE,
                signed_at=now - timedelta(minutes=1),
                state_hash=tab.head(pid),
                pin_verified=True,
            ),
        )
        push(world, tab, [tab.event(pid, ack, actor="p-approver", at=now - timedelta(minutes=1))])
    r = world.client.get("/api/v1/enterprises/ent-a/simops", headers=world.h("a-admin"))
    assert [c["permits"] for c in r.json()["items"]] == [["CS-3", "HW-2"]]
    t = trace(world, "CS-3")
    assert t["permit"]["status"] == "approved"
    ack_seq = t["events"][-1]["seq"]
    assert t["events"][-1]["type"] == "simops_acknowledged"
    assert all(f["seq"] != ack_seq for f in t["findings"]), t["findings"]


def test_the_enterprise_and_bureau_pages_show_the_simops_conflict(world: World) -> None:
    from tests.sync_server.test_ledger_cross_check import _signed_in_page

    conflicting(world)
    page = _signed_in_page(world, "/web/enterprises/ent-a")
    section = page[page.index('id="simops"') :]
    section = section[: section.index("</section>")]
    assert "交叉作业" in section and "CS-1" in section and "HW-2" in section
    assert "动火作业" in section and "须指定协调人" in section
    bureau = _signed_in_page(world, "/web/", "bureau")
    section = bureau[bureau.index('id="simops"') :]
    assert "Enterprise A" in section and "CS-1" in section and "HW-2" in section


def test_a_cancelled_permit_leaves_the_simops_check(world: World) -> None:
    from tests.sync_server.chains import cancelled

    tab = conflicting(world)
    push(world, tab, [tab.event("CS-3", cancelled())])
    r = world.client.get("/api/v1/enterprises/ent-a/simops", headers=world.h("a-admin"))
    assert r.json()["items"] == []


def fire_linked_to_an_active_permit(world: World, cs: str) -> None:
    """Enterprise A's confined-space permit ``cs`` approved and entered, then its hot job
    HW-1 started on the tablet's true view of it."""
    from permits.events import EntrantEntered

    tab = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    approved = simple_permit(tab, cs, "T-1")
    entered = tab.event(cs, EntrantEntered(entrant_id="p-1"), at=now - timedelta(minutes=4))
    push(world, tab, [*approved, entered])
    push_fire_linked_to(world, tab, cs, 3, now - timedelta(minutes=2))


def test_a_linked_permit_that_agrees_is_no_anomaly(world: World) -> None:
    fire_linked_to_an_active_permit(world, "CS-2")
    assert "HOT_WORK_LINK_MISMATCH" not in trace(world, "HW-1")["permit"]["anomalies"]
    assert "HOT_WORK_LINK_MISMATCH" not in trace(world, "CS-2")["permit"]["anomalies"]


def test_the_hot_work_trace_says_in_words_how_the_linked_permit_differed(
    world: World,
) -> None:
    from tests.sync_server.test_ledger_cross_check import _signed_in_page

    fire_linked_to_a_permit_not_active(world)
    page = _signed_in_page(world, "/web/permits/HW-1")
    anomalies = page[page.index('id="h-anom"') :]
    anomalies = anomalies[: anomalies.index("</section>")]
    assert "关联作业票的状态" in anomalies
    assert "作业中" in anomalies and "尚无记录" in anomalies  # recorded, then the server's
    assert "status:" not in anomalies and "active" not in anomalies  # words, never codes
    assert "none" not in anomalies


def test_a_year_without_a_holiday_calendar_stays_raised_on_the_server(world: World) -> None:
    from permits.events import new_event
    from permits.hot_work import HotWorkSession
    from permits.hot_work.events import HotWorkLevel
    from permits.integrity import seal

    tab = enroll_tablet(world.client, world.h("a-admin"))
    # The drafting tablet had no calendar for the year: the server, which has it, keeps the
    # level the tablet wrote (raised one step), and finds nothing.
    s = closed_job(tab.device_key, base_level=HotWorkLevel.SECOND, years_without_calendar=(2026,))
    push(world, tab, bodies(s))
    t = trace(world, "HW-1")
    assert t["findings"] == [], t["findings"]
    assert s.state.level is HotWorkLevel.FIRST
    # A draft into a year nobody has a calendar for that does not say so (a tampered or
    # old device): the server's replay says the calendar is missing.
    start = datetime(2099, 1, 7, 1, tzinfo=UTC)
    forged = HotWorkSession(tab.device_key)
    ev = new_event(
        drafted(
            enterprise_id="ent-a",
            base_level=HotWorkLevel.SECOND,
            planned_start=start,
            planned_end=start + timedelta(hours=2),
        ),
        permit_id="HW-9",
        seq=1,
        actor="P-LEAD",
        device_id=tab.device_key.device_id,
        occurred_at=START,
    )
    forged.events.append(seal(ev, forged.state.head_hash, tab.device_key))
    push(world, tab, bodies(forged))
    (finding,) = trace(world, "HW-9")["findings"]
    assert finding["code"] == "HOT_WORK_CALENDAR_MISSING"
    assert "2099" in finding["facts"]["message"]


def test_a_closed_hot_job_is_not_read_again_by_each_confined_space_push(
    world: World, app: Any
) -> None:
    """Each confined-space push looks for the open hot work linked to it
    (services/hot_work_links.py): a hot job once closed keeps no link and is never
    re-checked, so its row is left in the database, not read and dropped in Python on
    every push for the rest of the enterprise's history."""
    import sqlalchemy as sa

    from sync_server.services import hot_work_links

    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, bodies(closed_job(tab.device_key)))
    assert trace(world, "HW-1")["permit"]["status"] == "closed"
    with app.state.engine.connect() as conn:
        rows = conn.execute(hot_work_links._OPEN_HOT_WORK, {"enterprise_id": "ent-a"}).all()
        stored = conn.execute(
            sa.text("SELECT count(*) FROM permits WHERE permit_id = 'HW-1'")
        ).scalar()
    assert stored == 1
    assert rows == []
