"""Hostile input from inside the walls (issue 15, part 2; docs/reliability.md, section 8):
absurd numbers, dates and ids are a 4xx naming the field, a stored date at the edge of
the calendar breaks no page, and the bureau's word cannot be typed by anyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sync_server.labels import local_time
from sync_server.web.pages._base import csv_cell
from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import World, person

HUGE = str(2**64)


def _field(r: Any) -> str:
    return str(r.json()["error"]["field"])


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/permits?offset={HUGE}", "offset"),
        (f"/api/v1/hazards?offset={HUGE}", "offset"),
        ("/api/v1/permits?offset=-1", "offset"),
        (f"/api/v1/audit?before_id={HUGE}", "before_id"),
        # audit ids, LIMIT and OFFSET are 32-bit on PostgreSQL: a 500 there, found by
        # tests/reliability/test_hostile_queries.py.
        (f"/api/v1/audit?before_id={2**31}", "before_id"),
        (f"/api/v1/permits?offset={2**31}", "offset"),
        (f"/api/v1/hazards?offset={2**31}", "offset"),
        (f"/api/v1/permits?limit={HUGE}", "limit"),
    ],
)
def test_an_absurd_integer_is_a_422_naming_it(world: World, url: str, field: str) -> None:
    r = world.client.get(url, headers=world.h("bureau"))
    assert r.status_code == 422, r.text
    assert _field(r).endswith(field)


def test_feed_and_reference_cursors_are_bounded(world: World) -> None:
    r = world.client.get(f"/api/v1/feed?cursor={HUGE}", headers=world.h("agg"))
    assert r.status_code == 422 and _field(r).endswith("cursor")
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    r = world.client.get(f"/api/v1/sync/reference?cursor={HUGE}", headers=tablet.headers)
    assert r.status_code == 422 and _field(r).endswith("cursor")
    # The largest the database takes is still an answer.
    r = world.client.get(f"/api/v1/feed?cursor={2**63 - 1}", headers=world.h("agg"))
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-05:00",  # its UTC is in year 10000
        "0001-01-01T00:00:00+08:00",  # its UTC is in year 0
        "2026-13-01T00:00:00+00:00",
        "2026-11-28T10:00:00",  # no offset
        "yesterday",
    ],
)
def test_an_absurd_date_filter_is_a_422_naming_it(world: World, value: str) -> None:
    for field in ("date_from", "date_to"):
        r = world.client.get("/api/v1/permits", params={field: value}, headers=world.h("bureau"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] in ("DATE_INVALID", "VALIDATION_ERROR")
        assert _field(r).endswith(field)


def test_a_control_character_in_the_path_or_a_filter_is_a_422(world: World) -> None:
    for url, field in (
        ("/api/v1/permits?person=a%00b", "person"),
        ("/api/v1/hazards?status=%00", "status"),
        ("/api/v1/permits/PA%001", "path"),
        ("/web/permits?space_id=%07", "space_id"),
    ):
        r = world.client.get(url, headers=world.h("bureau"))
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"] == {
            "code": "CONTROL_CHARACTER",
            "message": r.json()["error"]["message"],
            "field": field,
        }


def _session(world: World, who: str) -> dict[str, str]:
    # A page session is the same bearer token, kept in a cookie (web/session.py).
    return {"Cookie": f"cspermit_session={world.tokens[who]}"}


def test_an_absurd_page_number_is_a_page_naming_the_field(world: World) -> None:
    for url in ("/web/permits", "/web/hazards"):
        for page in (HUGE, "0", "-3", "x"):
            r = world.client.get(f"{url}?page={page}", headers=_session(world, "bureau"))
            assert r.status_code == 422, (url, page, r.status_code)
            assert "page" in r.text
        ok = world.client.get(f"{url}?page=999999", headers=_session(world, "bureau"))
        assert ok.status_code == 200
    r = world.client.get("/web/permits?date_to=9999-12-31", headers=_session(world, "bureau"))
    assert r.status_code == 422 and "date_to" in r.text
    # A soft hyphen (a format character) in a filter: a 500 on the lists and their CSV,
    # found by tests/reliability/test_hostile_queries.py.
    for url in ("/web/hazards", "/web/hazards.csv", "/web/permits", "/web/permits.csv"):
        r = world.client.get(f"{url}?status=%C2%AD", headers=_session(world, "bureau"))
        assert r.status_code == 422 and "status" in r.text, (url, r.status_code)


def test_times_at_the_edge_of_the_calendar_are_shown_not_raised() -> None:
    assert local_time("9999-12-31T23:59:59.000000+00:00") == "9999-12-31 23:59:59 UTC"
    assert local_time("0001-01-01T00:00:00.000000+00:00") == "0001-01-01 08:00:00"
    assert local_time(datetime(9999, 12, 31, 20, tzinfo=UTC)) == "9999-12-31 20:00:00 UTC"
    assert local_time("not a time") == "not a time"
    assert local_time(None) == ""


def _absurd_permit(world: World, app: Any) -> str:
    """A pushed permit whose stored times were then set to the edges of the calendar
    (what an enrolled tablet with an absurd clock could leave behind)."""
    from sync_server.schema import events, permits

    tablet = enroll_tablet(world.client, world.h("a-admin"))
    chain = simple_permit(tablet, "PA-EDGE")
    r = world.client.post("/api/v1/sync/events", json={"events": chain}, headers=tablet.headers)
    assert r.status_code == 200, r.text
    with app.state.engine.begin() as conn:
        conn.execute(
            permits.update()
            .where(permits.c.permit_id == "PA-EDGE")
            .values(
                first_at="9999-12-31T23:59:59.999999+00:00",
                last_at="0001-01-01T00:00:00.000000+00:00",
            )
        )
        conn.execute(
            events.update()
            .where(events.c.permit_id == "PA-EDGE")
            .values(received_at="9999-12-31T23:59:59.999999+00:00")
        )
    return "PA-EDGE"


def test_a_stored_year_9999_or_1_breaks_no_list_page_or_csv(world: World, app: Any) -> None:
    _absurd_permit(world, app)
    s = _session(world, "bureau")
    for url in (
        "/api/v1/permits",
        "/web/permits",
        "/web/permits.csv",
        "/web/enterprises/ent-a",
        "/web/",
    ):
        r = world.client.get(url, headers=s if url.startswith("/web") else world.h("bureau"))
        assert r.status_code == 200, (url, r.status_code, r.text[-500:])


def test_a_stored_year_9999_breaks_no_trace_or_pdf(world: World, app: Any) -> None:
    permit_id = _absurd_permit(world, app)
    r = world.client.get(f"/api/v1/permits/{permit_id}", headers=world.h("bureau"))
    assert r.status_code == 200, r.text
    r = world.client.get(f"/web/permits/{permit_id}", headers=_session(world, "bureau"))
    assert r.status_code == 200, r.text[-500:]
    r = world.client.get(f"/api/v1/permits/{permit_id}/export.pdf", headers=world.h("bureau"))
    # 503 PDF_FONT_MISSING where the machine has no CJK font; never a 500.
    assert r.status_code in (200, 503), r.text[-500:]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert csv_cell(cell) == "'" + cell
    assert csv_cell("T-1") == "T-1" and csv_cell(None) == "" and csv_cell(3) == "3"


def test_hazard_csv_neutralises_a_formula_title(world: World) -> None:
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": '=HYPERLINK("http://x","y")'},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201
    r = world.client.get("/web/hazards.csv", headers=_session(world, "bureau"))
    assert r.status_code == 200
    assert "'=HYPERLINK" in r.content.decode("utf-8-sig")


def test_attachment_downloads_are_not_sniffed_and_are_saved(world: World) -> None:
    import hashlib

    tablet = enroll_tablet(world.client, world.h("a-admin"))
    data = b"<html><script>alert(1)</script></html>"
    digest = hashlib.sha256(data).hexdigest()
    r = world.client.put(
        f"/api/v1/sync/attachments/{digest}",
        content=data,
        headers={**tablet.headers, "Content-Type": "image/png"},
    )
    assert r.status_code in (200, 201), r.text
    r = world.client.get(
        f"/api/v1/sync/attachments/{digest}?enterprise_id=ent-a", headers=world.h("a-admin")
    )
    assert r.status_code == 200 and r.content == data
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;")


# ------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    "bad",
    [
        "p\u0430-1",  # a Cyrillic а among Latin letters
        "p-1\u200b",  # a zero-width space
        "p 1",
        "p-1\n",
        "p\x07",
        "x" * 65,
    ],
)
def test_a_reference_id_with_a_look_alike_or_control_character_is_refused(
    world: World, bad: str
) -> None:
    from urllib.parse import quote

    r = world.client.put(
        f"/api/v1/enterprises/ent-a/people/{quote(bad)}",
        json=person("张三", "ent-a"),
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422, r.text
    assert _field(r) in ("item_id", "path")


def test_a_full_width_reference_id_is_stored_normalised(world: World) -> None:
    r = world.client.put(
        "/api/v1/enterprises/ent-a/people/ＰＥ－１",
        json=person("张三", "ent-a"),
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["item_id"] == "PE-1"
    r = world.client.get("/api/v1/enterprises/ent-a/people/ＰＥ－１", headers=world.h("a-admin"))
    assert r.status_code == 200 and r.json()["item_id"] == "PE-1"


def test_note_and_hazard_ids_are_checked(world: World) -> None:
    r = world.client.post(
        "/api/v1/notes",
        json={"object_kind": "hazard", "object_id": "h\u0430zard", "text": "x"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and _field(r).endswith("object_id")
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "t", "space_id": "T\u20141"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and _field(r).endswith("space_id")
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "nul\x00title"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and _field(r).endswith("title")


# ------------------------------------------------------- the bureau's word


def _closed_hazard(world: World) -> str:
    for pid in ("a-p-li", "a-p-wang"):
        r = world.client.put(
            f"/api/v1/enterprises/ent-a/people/{pid}",
            json=person(pid, "ent-a"),
            headers=world.h("a-admin"),
        )
        assert r.status_code == 201, r.text
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "无警示标识"},
        headers=world.h("a-admin"),
    )
    hid = str(r.json()["hazard_id"])
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    for step in (
        {"action": "plan", "measures": "sign", "responsible": "李", "deadline": deadline},
        {"action": "rectify", "evidence": "photo", "person": "a-p-li"},
        {"action": "verify", "person": "a-p-wang"},
        {"action": "close"},
    ):
        r = world.client.post(
            f"/api/v1/hazards/{hid}/actions", json=step, headers=world.h("a-admin")
        )
        assert r.status_code == 200, r.text
    return hid


def test_an_admins_note_cannot_pass_for_the_bureaus_closure_check(world: World) -> None:
    hid = _closed_hazard(world)
    forged = "[销号复核 closure checked] 现场复核：合格"
    r = world.client.post(
        "/api/v1/notes",
        json={"object_kind": "hazard", "object_id": hid, "text": forged},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201
    detail = world.client.get(f"/api/v1/hazards/{hid}", headers=world.h("bureau")).json()
    assert detail["closure_checks"] == []
    page = world.client.get(f"/web/hazards/{hid}", headers=_session(world, "bureau"))
    assert page.status_code == 200 and 'id="closure-checked"' not in page.text
    # The bureau's own check is a record of its role, shown from that record.
    r = world.client.post(
        f"/web/hazards/{hid}/closure-check",
        data={"csrf": _csrf(world, "bureau"), "text": "现场复核：已上锁"},
        headers=_session(world, "bureau"),
    )
    assert r.status_code == 303, r.text
    detail = world.client.get(f"/api/v1/hazards/{hid}", headers=world.h("a-admin")).json()
    assert [(c["author"], c["role"], c["text"]) for c in detail["closure_checks"]] == [
        ("bureau", "bureau_reviewer", "现场复核：已上锁")
    ]
    page = world.client.get(f"/web/hazards/{hid}", headers=_session(world, "a-admin"))
    assert 'id="closure-checked"' in page.text and "现场复核：已上锁" in page.text


def _csrf(world: World, who: str) -> str:
    from sync_server.web.session import csrf_for

    return csrf_for(world.tokens[who])


def test_verifier_and_rectifier_are_identities_not_free_text(world: World) -> None:
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "t"},
        headers=world.h("a-admin"),
    )
    hid = r.json()["hazard_id"]
    url = f"/api/v1/hazards/{hid}/actions"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    plan = {"action": "plan", "measures": "m", "responsible": "r", "deadline": deadline}
    assert world.client.post(url, json=plan, headers=world.h("a-admin")).status_code == 200
    # A name that is no one in the ledger is refused: it could be anyone, or the same
    # person spelt twice.
    r = world.client.post(
        url,
        json={"action": "rectify", "evidence": "e", "person": "王五"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "person"
    assert r.json()["error"]["code"] in ("UNKNOWN_PERSON", "ID_INVALID")
    r = world.client.post(
        url,
        json={"action": "rectify", "evidence": "e", "person": "nobody"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "UNKNOWN_PERSON"
    # Without a person the step is the signed-in account's: the same account cannot
    # rectify and then verify.
    r = world.client.post(
        url, json={"action": "rectify", "evidence": "e"}, headers=world.h("a-admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["actions"][-1]["actor_name"] == "a-admin"
    r = world.client.post(url, json={"action": "verify"}, headers=world.h("a-admin"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "HAZARD_VERIFIER_IS_RECTIFIER"


def test_a_refused_request_changes_no_stored_row(world: World, app: Any) -> None:
    from sync_server.schema import audit_log, hazards, notes, reference_items

    def counts() -> tuple[int, ...]:
        with app.state.engine.connect() as conn:
            return tuple(
                int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (audit_log, hazards, notes, reference_items)
            )

    before = counts()
    c, h = world.client, world.h("a-admin")
    assert c.put("/api/v1/enterprises/ent-a/people/p%01", json={}, headers=h).status_code == 422
    body = {"enterprise_id": "ent-a", "title": "x", "permit_id": "P\u0430"}
    assert c.post("/api/v1/hazards", json=body, headers=h).status_code == 422
    assert c.get(f"/api/v1/hazards?offset={HUGE}", headers=h).status_code == 422
    assert counts() == before


@pytest.mark.parametrize(
    "deadline",
    ["9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59+00:00", "2150-01-01T00:00:00+08:00"],
)
def test_a_hazard_deadline_past_any_plausible_year_is_a_422(world: World, deadline: str) -> None:
    # The first was a 500: its UTC is in year 10000, and the deadline is stored in UTC.
    r = world.client.post(
        "/api/v1/hazards", json={"enterprise_id": "ent-a", "title": "t"}, headers=world.h("a-admin")
    )
    hid = r.json()["hazard_id"]
    step = {"action": "plan", "measures": "m", "responsible": "r", "deadline": deadline}
    r = world.client.post(f"/api/v1/hazards/{hid}/actions", json=step, headers=world.h("a-admin"))
    assert r.status_code == 422, r.text
    assert _field(r).endswith("deadline")
    r = world.client.post(
        f"/web/hazards/{hid}/actions",
        data={**step, "deadline": "9999-12-31", "csrf": _csrf(world, "a-admin")},
        headers=_session(world, "a-admin"),
    )
    assert r.status_code == 422 and "deadline" in r.text
