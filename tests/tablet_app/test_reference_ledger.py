"""The ledger kinds a permit's snapshots need reach the tablet's store, and the desk
builds the snapshots from them (issue 14): contractors, written delegations, the
enterprise's default profile and its overrides; deletions are applied."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from permits.events import ApprovalAuthority
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, choose_delegation
from tablet_app.reference_sync import apply_update, ledger_pulled_at
from tablet_app.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _update(*items: dict[str, Any], cursor: int = 1) -> Any:
    return SimpleNamespace(items=list(items), hazards=[], enterprise=None, cursor=cursor)


def _item(kind: str, item_id: str, data: dict[str, Any] | None) -> dict[str, Any]:
    return {"kind": kind, "item_id": item_id, "deleted": data is None, "data": data}


SPACE = {
    "enterprise_id": "E",
    "name": "pit",
    "hazards": ["H2S"],
    "required_channels": ["O2", "LEL"],
    "sample_points": ["top"],
    "oxygen_enriched": True,
}
WORKER = {"name": "王五", "employer": {"kind": "contractor", "id": "CON-1"}, "roles": []}
DEPUTY = {"name": "李四", "employer": {"kind": "enterprise", "id": "E"}, "roles": []}
DELEGATION = {
    "delegator": "P-BOSS",
    "delegate": "P-DEPUTY",
    "space_ids": [],
    "valid_from": "2026-11-01",
    "valid_until": "2026-12-31",
    "document_ref": "委托书 7",
}


def test_the_ledger_kinds_a_snapshot_needs_are_kept_and_joined(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store:
        desk = PermitDesk(AppContext(store=store, clock=lambda: NOW))
        apply_update(
            store,
            _update(
                _item("spaces", "S1", SPACE),
                _item("spaces", "S2", {**SPACE, "profile": "us-osha-1910.146"}),
                _item("people", "P-X", WORKER),
                _item("people", "P-DEPUTY", DEPUTY),
                _item(
                    "contractors",
                    "CON-1",
                    {
                        "name": "承包商",
                        "contract_reference": "C-1",
                        "contract_valid_from": "2026-01-01",
                        "contract_valid_until": "2026-12-31",
                        "blacklisted_on": "2026-11-20",
                        "blacklist_reason": "accident",
                    },
                ),
                _item("delegations", "D-1", DELEGATION),
                _item("default-profile", "default", {"profile": "cn-gb30871-2022"}),
                _item(
                    "profile-overrides",
                    "acme",
                    {"base": "cn-gb30871-2022", "override": {"test_max_age": {"minutes": 20}}},
                ),
            ),
            NOW,
        )
        assert ledger_pulled_at(store) == NOW
        s1 = desk.space_snapshot(store.reference("spaces", "S1") or {})
        assert s1.hazards == ("H2S",) and s1.requires_principal_approval
        assert s1.oxygen_enriched and s1.profile == "cn-gb30871-2022"
        assert s1.profile_override == {"test_max_age": {"minutes": 20}, "name": "acme"}
        s2 = desk.space_snapshot(store.reference("spaces", "S2") or {})
        assert s2.profile == "us-osha-1910.146" and s2.profile_override is None

        worker = desk.person_snapshot(store.reference("people", "P-X") or {})
        assert worker.contractor is not None
        assert worker.contractor.blacklisted_on == date(2026, 11, 20)
        deputy = desk.person_snapshot(store.reference("people", "P-DEPUTY") or {}, "S1")
        assert deputy.approval_authority is ApprovalAuthority.DELEGATE
        assert deputy.delegation is not None and deputy.delegation.delegator == "P-BOSS"
        assert deputy.delegation_ref == "委托书 7"

        # Deleted on the server: the contractor becomes unknown, the delegation is gone,
        # the enterprise's default falls back to cn-gongmao.
        apply_update(
            store,
            _update(
                _item("contractors", "CON-1", None),
                _item("delegations", "D-1", None),
                _item("default-profile", "default", None),
                cursor=2,
            ),
            NOW + timedelta(hours=1),
        )
        worker = desk.person_snapshot(store.reference("people", "P-X") or {})
        assert worker.contractor is not None and worker.contractor.registered is False
        deputy = desk.person_snapshot(store.reference("people", "P-DEPUTY") or {}, "S1")
        assert deputy.delegation is None
        assert deputy.approval_authority is ApprovalAuthority.NONE
        assert desk.space_snapshot(store.reference("spaces", "S1") or {}).profile == "cn-gongmao"


def test_the_delegation_chosen_is_the_one_that_holds_else_the_latest() -> None:
    day = date(2026, 12, 1)
    rows = [
        {**DELEGATION, "id": "old", "valid_until": "2026-11-30"},
        {**DELEGATION, "id": "other", "space_ids": ["S9"], "valid_until": "2027-06-30"},
        {**DELEGATION, "id": "good"},
    ]
    chosen = choose_delegation(rows, "P-DEPUTY", "S1", day)
    assert chosen is not None and chosen["id"] == "good"
    chosen = choose_delegation(rows[:2], "P-DEPUTY", "S1", day)
    assert chosen is not None and chosen["id"] == "other"  # the core says why not
    assert choose_delegation(rows, "P-ELSE", "S1", day) is None
