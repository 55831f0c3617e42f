"""Permit ids are unique per enterprise (migration 0006; docs/server.md, "Permit ids"):
two enterprises holding one id each see their own permit everywhere, and a bureau
reviewer who sees both is asked which one (409 PERMIT_ID_AMBIGUOUS), never shown the
wrong one; every link the pages make for the reviewer names the enterprise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.sync_server.chains import Tablet, drafted, enroll_tablet, simple_permit
from tests.sync_server.conftest import World
from tests.sync_server.test_cli_server import verify_offline
from tests.sync_server.test_ledger_cross_check import _signed_in_page as _page

SAME = "PMT-SAME-1"


def _push(world: World, tablet: Tablet, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = world.client.post("/api/v1/sync/events", json={"events": events}, headers=tablet.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _event_row(permit_id: str, at: str) -> dict[str, Any]:
    """An ``events`` row's columns but its id and enterprise (the migrations' tests)."""
    return {
        "permit_id": permit_id,
        "seq": 1,
        "type": "drafted",
        "occurred_at": at,
        "received_at": at,
        "device_id": "dev",
        "hash": "0" * 64,
        "body": {},
    }


def _permit_row(permit_id: str, at: str) -> dict[str, Any]:
    """A ``permits`` row's columns but its enterprise, as the migrations up to 0006 have
    them (the migrations' tests)."""
    return {
        "permit_id": permit_id,
        "status": "active",
        "last_seq": 1,
        "last_hash": "0" * 64,
        "writer_device_id": "dev",
        "first_at": at,
        "last_at": at,
        "people": ["p-1"],
        "detectors": [],
        "anomalies": [],
        "has_anomaly": False,
        "rev": 1,
        "updated_at": at,
    }


@pytest.fixture
def twins(world: World) -> dict[str, Tablet]:
    """Enterprise B pushes ``SAME`` first (space T-B), then enterprise A its own (T-A)."""
    tablets = {k: enroll_tablet(world.client, world.h(f"{k}-admin")) for k in ("a", "b")}
    assert _push(world, tablets["b"], simple_permit(tablets["b"], SAME, "T-B"))["accepted"] == 2
    assert _push(world, tablets["a"], simple_permit(tablets["a"], SAME, "T-A"))["accepted"] == 2
    return tablets


def test_each_enterprise_sees_its_own_permit_of_a_shared_id(
    world: World, twins: dict[str, Tablet]
) -> None:
    c = world.client
    for key, space in (("a", "T-A"), ("b", "T-B")):
        trace = c.get(f"/api/v1/permits/{SAME}", headers=world.h(f"{key}-admin"))
        assert trace.status_code == 200, trace.text
        body = trace.json()
        assert body["permit"]["enterprise_id"] == f"ent-{key}"
        assert body["permit"]["space_id"] == space
        assert {e["device_id"] for e in body["events"]} == {twins[key].device_id}
        assert body["verification"]["ok"] is True
        listed = c.get("/api/v1/permits", headers=world.h(f"{key}-admin")).json()
        assert [(p["permit_id"], p["space_id"]) for p in listed["items"]] == [(SAME, space)]
    # Enterprise C holds no such permit: as before, absent.
    assert c.get(f"/api/v1/permits/{SAME}", headers=world.h("c-admin")).status_code == 404
    # A's tablet continues A's chain (a handover pull), never B's.
    pulled = c.get(f"/api/v1/sync/permits/{SAME}/events", headers=twins["a"].headers).json()
    assert {e["device_id"] for e in pulled["events"]} == {twins["a"].device_id}


def test_the_bureau_is_asked_which_enterprise_and_then_sees_that_one(
    world: World, twins: dict[str, Tablet]
) -> None:
    c = world.client
    r = c.get(f"/api/v1/permits/{SAME}", headers=world.h("bureau"))
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "PERMIT_ID_AMBIGUOUS" and error["field"] == "enterprise_id"
    # In words, naming the enterprises by name (zh_CN, the API's language).
    assert "Enterprise A" in error["message"] and "Enterprise B" in error["message"]
    assert "多家企业" in error["message"], error["message"]
    assert error["enterprises"] == [
        {"enterprise_id": "ent-a", "name": "Enterprise A"},
        {"enterprise_id": "ent-b", "name": "Enterprise B"},
    ]
    for path in ("", "/export.json", "/export.pdf"):
        assert c.get(f"/api/v1/permits/{SAME}{path}", headers=world.h("bureau")).status_code == 409
    for key, space in (("a", "T-A"), ("b", "T-B")):
        chosen = c.get(
            f"/api/v1/permits/{SAME}",
            params={"enterprise_id": f"ent-{key}"},
            headers=world.h("bureau"),
        )
        assert chosen.status_code == 200 and chosen.json()["permit"]["space_id"] == space
    # Choosing an enterprise outside the reviewer's jurisdiction finds nothing.
    other = c.get(
        f"/api/v1/permits/{SAME}", params={"enterprise_id": "ent-c"}, headers=world.h("bureau")
    )
    assert other.status_code == 404
    # The bureau's list holds both, told apart by their enterprise.
    listed = c.get("/api/v1/permits", headers=world.h("bureau")).json()["items"]
    assert sorted((p["enterprise_id"], p["space_id"]) for p in listed) == [
        ("ent-a", "T-A"),
        ("ent-b", "T-B"),
    ]


def test_an_id_held_once_needs_no_enterprise_even_for_the_bureau(world: World) -> None:
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    _push(world, tablet, simple_permit(tablet, "PMT-ONLY-A"))
    r = world.client.get("/api/v1/permits/PMT-ONLY-A", headers=world.h("bureau"))
    assert r.status_code == 200 and r.json()["permit"]["enterprise_id"] == "ent-a"


def test_each_export_verifies_as_its_own_enterprise_chain(
    world: World, twins: dict[str, Tablet], tmp_path: Path
) -> None:
    key = world.client.get("/api/v1/server-key").json()["public_key"]
    for k in ("a", "b"):
        data = world.client.get(
            f"/api/v1/permits/{SAME}/export.json", headers=world.h(f"{k}-admin")
        ).json()
        assert {e["device_id"] for e in data["events"]} == {twins[k].device_id}
        assert set(data["devices"]) == {twins[k].device_id}
        path = tmp_path / f"{k}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        ok = verify_offline(path, key)
        assert ok.returncode == 0, ok.stdout + ok.stderr
    via_bureau = world.client.get(
        f"/api/v1/permits/{SAME}/export.json",
        params={"enterprise_id": "ent-b"},
        headers=world.h("bureau"),
    ).json()
    assert set(via_bureau["devices"]) == {twins["b"].device_id}
    pdf = world.client.get(
        f"/api/v1/permits/{SAME}/export.pdf",
        params={"enterprise_id": "ent-a"},
        headers=world.h("bureau"),
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:200]


def test_hazards_and_notes_stay_with_their_enterprise_permit(
    world: World, twins: dict[str, Tablet]
) -> None:
    c = world.client
    r = c.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "梯子缺失", "permit_id": SAME},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201, r.text
    # The bureau's note on the shared id: which enterprise's permit, then B's.
    note = {"object_kind": "permit", "object_id": SAME, "text": "复核 B 的作业票"}
    r = c.post("/api/v1/notes", json=note, headers=world.h("bureau"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "PERMIT_ID_AMBIGUOUS"
    r = c.post("/api/v1/notes", json={**note, "enterprise_id": "ent-b"}, headers=world.h("bureau"))
    assert r.status_code == 201, r.text
    a = c.get(f"/api/v1/permits/{SAME}", headers=world.h("a-admin")).json()
    b = c.get(f"/api/v1/permits/{SAME}", headers=world.h("b-admin")).json()
    assert _manual(a) == ["梯子缺失"] and _manual(b) == []
    # The replay's automatic hazard (no approver assigned) is filed for each permit, not
    # found already filed on the other enterprise's permit of the same id.
    for key, trace in (("a", a), ("b", b)):
        (auto,) = [h for h in trace["hazards"] if h["source"] == "automatic"]
        assert auto["enterprise_id"] == f"ent-{key}"
    assert a["notes"] == [] and [n["text"] for n in b["notes"]] == ["复核 B 的作业票"]
    # B cannot hang a hazard on A's permit by naming the shared id: it is B's own then.
    r = c.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-b", "title": "b 的隐患", "permit_id": SAME},
        headers=world.h("b-admin"),
    )
    assert r.status_code == 201
    a = c.get(f"/api/v1/permits/{SAME}", headers=world.h("a-admin")).json()
    assert _manual(a) == ["梯子缺失"]


def _manual(trace: dict[str, Any]) -> list[str]:
    return [h["title"] for h in trace["hazards"] if h["source"] != "automatic"]


def test_pages_show_each_enterprise_its_own_and_the_bureau_links_name_the_enterprise(
    world: World, twins: dict[str, Tablet]
) -> None:
    # An enterprise admin's links are as they were (the enterprise is implied).
    listing = _page(world, "/web/permits", "a-admin")
    assert f'href="/web/permits/{SAME}"' in listing
    trace = _page(world, f"/web/permits/{SAME}", "a-admin")
    # the page names the enterprise (spaces are shown by name, not id, since issue 16)
    assert "Enterprise A" in trace and "Enterprise B" not in trace
    assert f'href="/api/v1/permits/{SAME}/export.pdf"' in trace
    assert _page(world, f"/web/permits/{SAME}", "b-admin").count("Enterprise A") == 0
    # The bureau's list shows both, by enterprise name, each link naming its enterprise.
    listing = _page(world, "/web/permits", "bureau")
    assert "Enterprise A" in listing and "Enterprise B" in listing
    links = re.findall(r'href="(/web/permits/[^"?]+\?enterprise_id=[^"]+)"', listing)
    assert sorted(links) == [
        f"/web/permits/{SAME}?enterprise_id=ent-a",
        f"/web/permits/{SAME}?enterprise_id=ent-b",
    ]
    # The id alone is ambiguous for the bureau: a page that says so, in words.
    bare = world.client.get(f"/web/permits/{SAME}")
    assert bare.status_code == 409 and "Enterprise A" in bare.text and "Enterprise B" in bare.text
    # ... with a link to each enterprise's permit.
    choices = bare.text[bare.text.index('id="permit-choices"') :]
    assert f'href="/web/permits/{SAME}?enterprise_id=ent-a">Enterprise A<' in choices
    assert f'href="/web/permits/{SAME}?enterprise_id=ent-b">Enterprise B<' in choices
    # A link opens the right permit, and that page's own links name the enterprise too.
    page = world.client.get(links[1])
    assert page.status_code == 200
    assert "Enterprise B" in page.text and "Enterprise A" not in page.text
    assert f'href="/api/v1/permits/{SAME}/export.pdf?enterprise_id=ent-b"' in page.text
    assert f'action="/web/permits/{SAME}/notes?enterprise_id=ent-b"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    posted = world.client.post(
        f"/web/permits/{SAME}/notes?enterprise_id=ent-b",
        data={"text": "现场复核", "csrf": csrf.group(1)},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/web/permits/{SAME}?enterprise_id=ent-b#notes"
    b = world.client.get(f"/api/v1/permits/{SAME}", headers=world.h("b-admin")).json()
    assert [n["text"] for n in b["notes"]] == ["现场复核"]


def test_the_migration_keeps_permits_and_lets_two_enterprises_share_an_id(
    empty_db: str,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.schema import events, metadata, permit_people, permits
    from sync_server.storage import make_engine, migrate

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0005")
        old = sa.Table("permits", sa.MetaData(), autoload_with=engine)
        old_people = sa.Table("permit_people", sa.MetaData(), autoload_with=engine)
        at = "2026-03-01T08:00:00.000000+00:00"
        row = {**_permit_row("P-OLD", at), "enterprise_id": "ent-a"}
        member = {"permit_id": "P-OLD", "person_id": "p-1", "enterprise_id": "ent-a"}
        with engine.begin() as conn:
            conn.execute(old.insert(), [row])
            conn.execute(old_people.insert(), [{**member, "first_at": at}])
            # Before 0006 a second enterprise could not hold the id.
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(old.insert(), [{**row, "enterprise_id": "ent-b"}])
        migrate(engine)
        with engine.begin() as conn:
            kept = conn.execute(sa.select(permits.c.enterprise_id, permits.c.people)).all()
            assert [tuple(r) for r in kept] == [("ent-a", ["p-1"])]
            conn.execute(permits.insert(), [{**row, "enterprise_id": "ent-b"}])
            conn.execute(
                permit_people.insert(), [{**member, "enterprise_id": "ent-b", "first_at": at}]
            )
            ev = _event_row("P-OLD", at)
            conn.execute(
                events.insert(),
                [
                    {**ev, "event_id": "e-a", "enterprise_id": "ent-a"},
                    {**ev, "event_id": "e-b", "enterprise_id": "ent-b"},
                ],
            )
            # Within one enterprise the id and a seq stay unique.
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(
                    events.insert(), [{**ev, "event_id": "e-a2", "enterprise_id": "ent-a"}]
                )
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(permits.insert(), [row])
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # Down again (refused while two enterprises share the id), and up.
        with engine.begin() as conn:
            conn.execute(events.delete())
            conn.execute(permit_people.delete().where(permit_people.c.enterprise_id == "ent-b"))
            conn.execute(permits.delete().where(permits.c.enterprise_id == "ent-b"))
        migrate(engine, "0005", down=True)
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(permits)).scalar() == 1
    finally:
        engine.dispose()


def test_a_restored_archive_keeps_both_permits_of_a_shared_id(
    world: World, twins: dict[str, Tablet], app: Any, tmp_path: Path
) -> None:
    from sync_server.backup import backup, restore
    from sync_server.schema import events, permits
    from sync_server.storage import make_engine, migrate

    path = tmp_path / "backup.jsonl.gz"
    backup(app.state.engine, path)
    target = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        migrate(target)
        restore(target, path, world.client.get("/api/v1/server-key").json()["fingerprint"])
        with target.connect() as conn:
            held = conn.execute(
                sa.select(permits.c.enterprise_id, permits.c.space_id).order_by(
                    permits.c.enterprise_id
                )
            ).all()
            assert [tuple(r) for r in held] == [("ent-a", "T-A"), ("ent-b", "T-B")]
            n = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
            assert n == 4
    finally:
        target.dispose()


def test_the_tablet_mints_ids_with_64_random_bits() -> None:
    from datetime import UTC, datetime

    from pydantic import TypeAdapter

    from permits.events import PermitId
    from tablet_app.permit_ids import new_permit_id

    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    ids = {new_permit_id("PMT", now) for _ in range(2000)}
    assert len(ids) == 2000
    for permit_id in [*list(ids)[:50], new_permit_id("HW", now)]:
        assert re.fullmatch(r"(PMT|HW)-20261202-[0-9A-F]{16}", permit_id), permit_id
        assert TypeAdapter(PermitId).validate_python(permit_id) == permit_id


def test_a_hot_work_link_is_checked_against_its_own_enterprise_permit(world: World) -> None:
    from tests.sync_server.test_hot_work_server import fire_linked_to_an_active_permit

    # B's CS-2 first: another chain, in another space.
    tab_b = enroll_tablet(world.client, world.h("b-admin"))
    _push(world, tab_b, simple_permit(tab_b, "CS-2", "T-9"))
    # A's hot job links to A's CS-2, as A's tablet saw it: that agrees.
    fire_linked_to_an_active_permit(world, "CS-2")
    for key, permit_id in (("a", "HW-1"), ("a", "CS-2"), ("b", "CS-2")):
        t = world.client.get(f"/api/v1/permits/{permit_id}", headers=world.h(f"{key}-admin"))
        assert "HOT_WORK_LINK_MISMATCH" not in t.json()["permit"]["anomalies"], (key, permit_id)


def test_the_bureau_s_simops_links_name_the_enterprise(world: World) -> None:
    from tests.sync_server.test_hot_work_server import conflicting

    conflicting(world)
    page = _page(world, "/web/", "bureau")
    section = page[page.index('id="simops"') :]
    assert 'href="/web/permits/CS-1?enterprise_id=ent-a"' in section
    assert 'href="/web/permits/HW-2?enterprise_id=ent-a"' in section
    own = _page(world, "/web/enterprises/ent-a", "a-admin")
    assert 'href="/web/permits/CS-1"' in own[own.index('id="simops"') :]


def test_the_public_page_reads_its_own_enterprise_chain(tmp_path: Path) -> None:
    from sync_server.schema import permits
    from tests.sync_server.chains import cancelled
    from tests.sync_server.conftest import ASGIClient
    from tests.sync_server.test_public_page import BASE, _app, card_url, public_path, sign_in

    app = _app(tmp_path, public_base_url=BASE)
    web, phone = ASGIClient(app), ASGIClient(app)
    try:
        with app.state.engine.connect() as conn:
            (active,) = conn.execute(
                sa.select(permits.c.permit_id).where(
                    permits.c.enterprise_id == "ent-a",
                    permits.c.space_id == "A-P1",
                    permits.c.status == "active",
                )
            ).scalars()
        # Enterprise B's tablet pushes a permit of its own under the same id, cancelled.
        b_admin = web.post(
            "/api/v1/auth/token", data={"username": "b-admin", "password": "b-admin-demo"}
        ).json()["access_token"]
        tablet = enroll_tablet(web, {"Authorization": f"Bearer {b_admin}"})
        events = [*simple_permit(tablet, active, "B-S1"), tablet.event(active, cancelled())]
        r = web.post("/api/v1/sync/events", json={"events": events}, headers=tablet.headers)
        assert r.json()["accepted"] == 3, r.text
        sign_in(web, "a-admin")
        page = phone.get(public_path(card_url(web, "A-P1")))
        # A's permit in A-P1 is still at work: B's chain is not mixed into it.
        assert page.status_code == 200 and 'data-state="active"' in page.text, page.text[:500]
    finally:
        web.close()
        phone.close()
        app.state.engine.dispose()


def test_two_enterprises_may_hold_one_event_id_and_each_resend_is_its_own(
    world: World, app: Any
) -> None:
    """Event ids are each enterprise's own (migration 0012), as permit ids are: B's
    tablet pushing an event whose id A holds stores B's event (it was EVENT_ID_REUSED,
    telling B's tablet of an id it never saw), each resend is a duplicate in its own
    enterprise, and within one enterprise a second event of a held id is still refused."""
    from uuid import UUID

    from sync_server.schema import events

    tabs = {k: enroll_tablet(world.client, world.h(f"{k}-admin")) for k in ("a", "b")}
    mine = simple_permit(tabs["a"], "PMT-A-1", "T-A")
    assert _push(world, tabs["a"], mine)["accepted"] == 2
    held = UUID(mine[0]["event_id"])
    theirs = [tabs["b"].event("PMT-B-1", drafted("ent-b", "T-B"), event_id=held)]
    body = _push(world, tabs["b"], theirs)
    assert body["accepted"] == 1, body
    for key, batch in (("a", mine[:1]), ("b", theirs)):
        again = _push(world, tabs[key], batch)
        assert [r["status"] for r in again["results"]] == ["duplicate"], again
    reused = [tabs["a"].event("PMT-A-2", drafted("ent-a", "T-A"), event_id=held)]
    refused = _push(world, tabs["a"], reused)["results"][0]
    assert (refused["status"], refused["code"]) == ("rejected", "EVENT_ID_REUSED"), refused
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.enterprise_id, events.c.permit_id).where(
                events.c.event_id == str(held)
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == [("ent-a", "PMT-A-1"), ("ent-b", "PMT-B-1")]


def test_the_event_key_migration_lets_two_enterprises_share_an_id_and_goes_back(
    empty_db: str,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.schema import events, metadata
    from sync_server.storage import make_engine, migrate

    ev = {
        **_event_row("P-1", "2026-03-01T08:00:00.000000+00:00"),
        "event_id": "e-shared",
        "enterprise_id": "ent-a",
    }
    other = {**ev, "enterprise_id": "ent-b"}
    engine = make_engine(empty_db)
    try:
        migrate(engine, "0011")
        old = sa.Table("events", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(old.insert(), [ev])
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(old.insert(), [other])  # one id on the whole server
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(events.insert(), [other])
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(events.insert(), [{**ev, "seq": 2}])  # within one: unique
            kept = conn.execute(sa.select(events.c.enterprise_id).order_by("enterprise_id"))
            assert [r[0] for r in kept] == ["ent-a", "ent-b"]
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # Down is refused while two enterprises share the id, naming it, before
        # anything is altered: still at 0012, both rows kept, no copy table left (on
        # SQLite a rebuild the database refused halfway used to leave one); once not
        # shared, down and up.
        from sync_server.errors import Conflict

        migrate(engine, "0012", down=True)  # 0013 goes down alone (an index)
        with pytest.raises(Conflict) as refused:
            migrate(engine, "0011", down=True)
        assert refused.value.code == "DOWNGRADE_REFUSED"
        assert "e-shared" in refused.value.message and refused.value.field == "events.event_id"
        assert not [t for t in sa.inspect(engine).get_table_names() if "alembic_tmp" in t]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
                "0012"
            )
            assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 2
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        with engine.begin() as conn:
            conn.execute(events.delete().where(events.c.enterprise_id == "ent-b"))
        migrate(engine, "0011", down=True)
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 1
    finally:
        engine.dispose()


def test_going_below_0006_is_refused_while_two_enterprises_share_a_permit_id(
    empty_db: str,
) -> None:
    """Down from 0006 is refused, naming the id, before anything is altered: still at
    0006, every row kept, no copy table left (on SQLite the database's refusal came
    halfway through the rebuilds, after the member tables were re-keyed, and left
    alembic's copy table behind); once the id is not shared, down and up."""
    from sync_server.errors import Conflict
    from sync_server.storage import make_engine, migrate

    at = "2026-03-01T08:00:00.000000+00:00"
    engine = make_engine(empty_db)
    try:
        migrate(engine, "0006")
        meta = sa.MetaData()
        permits = sa.Table("permits", meta, autoload_with=engine)
        people = sa.Table("permit_people", meta, autoload_with=engine)
        events = sa.Table("events", meta, autoload_with=engine)
        row = _permit_row("P-SHARED", at)
        with engine.begin() as conn:
            for n, ent in enumerate(("ent-a", "ent-b")):
                conn.execute(permits.insert(), [{**row, "enterprise_id": ent}])
                member = {"permit_id": "P-SHARED", "person_id": "p-1", "first_at": at}
                conn.execute(people.insert(), [{**member, "enterprise_id": ent}])
                ev = {**_event_row("P-SHARED", at), "event_id": f"e-{n}", "enterprise_id": ent}
                conn.execute(events.insert(), [ev])

        def counts() -> list[int]:
            with engine.connect() as conn:
                return [
                    conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (permits, people, events)
                ]

        with pytest.raises(Conflict) as refused:
            migrate(engine, "0005", down=True)
        assert refused.value.code == "DOWNGRADE_REFUSED"
        assert refused.value.field == "permits.permit_id"
        assert "P-SHARED" in refused.value.message
        assert refused.value.extra == {"permit_id": "P-SHARED", "enterprises": 2}
        assert not [t for t in sa.inspect(engine).get_table_names() if "alembic_tmp" in t]
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == "0006"
        assert counts() == [2, 2, 2]
        # The keys are still 0006's: the second enterprise's rows are where they were.
        pk = sa.inspect(engine).get_pk_constraint("permit_people")["constrained_columns"]
        assert pk == ["enterprise_id", "permit_id", "person_id"]
        with engine.begin() as conn:
            for t in (events, people, permits):
                conn.execute(t.delete().where(t.c.enterprise_id == "ent-b"))
        migrate(engine, "0005", down=True)
        assert counts() == [1, 1, 1]
        migrate(engine)
    finally:
        engine.dispose()


def test_events_keep_no_index_on_the_enterprise_alone_and_the_migration_goes_back(
    empty_db: str,
) -> None:
    """Migration 0013 drops ``events``' plain index on ``enterprise_id`` (the primary
    key leads with it); the schema is then as declared, and down puts it back."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.schema import metadata
    from sync_server.storage import make_engine, migrate

    def indexes() -> set[str]:
        return {str(i["name"]) for i in sa.inspect(engine).get_indexes("events")}

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0012")
        assert "ix_events_enterprise_id" in indexes()
        migrate(engine)
        assert "ix_events_enterprise_id" not in indexes()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        migrate(engine, "0012", down=True)
        assert "ix_events_enterprise_id" in indexes()
        migrate(engine)
        assert "ix_events_enterprise_id" not in indexes()
    finally:
        engine.dispose()
