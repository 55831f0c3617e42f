"""``PATCH /api/v1/enterprises/{id}``: ``details`` is a JSON merge patch (RFC 7396), so
a PATCH that names one detail keeps the rest, the yearly drills and topic trainings
among them (it once replaced the whole record and lost them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.sync_server.conftest import World

DRILL = {
    "id": "D-1",
    "enterprise_id": "ent-a",
    "held_on": (date.today() - timedelta(days=40)).isoformat(),
    "scenario": "糖蜜罐内中毒窒息救援",
    "space_ids": ["A-T1"],
}


def _details(world: World) -> dict[str, Any]:
    r = world.client.get("/api/v1/enterprises/ent-a", headers=world.h("a-admin"))
    assert r.status_code == 200, r.text
    details: dict[str, Any] = r.json()["details"]
    return details


def _patch(world: World, body: dict[str, Any]) -> Any:
    return world.client.patch("/api/v1/enterprises/ent-a", json=body, headers=world.h("a-admin"))


def test_a_patch_naming_one_detail_keeps_the_drills_and_the_rest(world: World) -> None:
    r = _patch(world, {"details": {"drills": [DRILL], "contact": {"name": "赵", "phone": "1"}}})
    assert r.status_code == 200, r.text
    r = _patch(world, {"details": {"contact": {"phone": "0871-1234567"}}})
    assert r.status_code == 200, r.text
    details = _details(world)
    assert details["drills"] == [DRILL]
    assert details["contact"] == {"name": "赵", "phone": "0871-1234567"}  # merged
    # A list given replaces the list; null removes a key.
    r = _patch(world, {"details": {"drills": [], "contact": None}})
    assert r.status_code == 200, r.text
    details = _details(world)
    assert details["drills"] == [] and "contact" not in details


def test_a_bad_drill_in_a_patch_is_refused_naming_it_and_nothing_changes(world: World) -> None:
    assert _patch(world, {"details": {"drills": [DRILL]}}).status_code == 200
    before = _details(world)
    r = _patch(world, {"details": {"drills": [{**DRILL, "held_on": "someday"}]}})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "details.drills[0]"
    assert _details(world) == before


def test_a_patch_answers_for_what_it_names_not_for_a_list_stored_broken(
    world: World, app: Any
) -> None:
    """A list stored broken (written by hand in the database) does not block a PATCH of
    another detail, and is left as it was; naming it with a good list mends it."""
    import sqlalchemy as sa

    from sync_server.schema import enterprises

    with app.state.engine.begin() as conn:
        conn.execute(
            sa.update(enterprises)
            .where(enterprises.c.enterprise_id == "ent-a")
            .values(data={"drills": [DRILL], "topic_trainings": "x"})
        )
    r = _patch(world, {"details": {"contact": {"phone": "0871-1234567"}}})
    assert r.status_code == 200, r.text
    assert _details(world)["topic_trainings"] == "x"
    r = _patch(world, {"details": {"topic_trainings": "still not a list"}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "details.topic_trainings"
    assert _patch(world, {"details": {"topic_trainings": []}}).status_code == 200
    assert _details(world)["topic_trainings"] == [] and _details(world)["drills"] == [DRILL]
