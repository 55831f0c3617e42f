"""The roster rules that read the ledger's contractors and training (docs/rules.md,
People, contractors and spaces), end to end: entered through the API, refused on the
synced tablet, and found by the server's replay in a chain that broke them."""

from __future__ import annotations

import pytest

from permits.events import HazardIdentified, Role, RoleAssigned
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.setup import SetupPresenter
from tablet_app.theme import Level
from tests.e2e.harness import Site, contractor, days, person, space


def _draft(site: Site) -> SetupPresenter:
    site.sign_in("e-leader")
    outcome = HomePresenter(site.context, site.desk).new_permit("E-S1", "清理")
    assert outcome.ok, outcome.lines()
    return SetupPresenter(site.context, site.desk)


def _ledger(site: Site, worker: dict[str, object]) -> None:
    site.put("spaces", "E-S1", space("E-S1"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.put("people", "e-worker", worker)


def _refused_on_tablet_and_found_by_the_server(site: Site, code: str) -> None:
    setup = _draft(site)
    (row,) = [c for c in setup.candidates(Role.ENTRANT) if c.person_id == "e-worker"]
    assert row.level is Level.ALARM and row.blocked, row  # never a green row
    assert row.problems
    outcome = setup.assign("e-worker", Role.ENTRANT)
    assert not outcome.ok and code in outcome.codes, outcome.lines()
    assert "e-worker" not in setup.state().people

    worker = site.store.reference("people", "e-worker")
    assert worker is not None
    site.push_broken(
        "PMT-E2E-ROSTER",
        [
            (site.drafted("E-S1"), "e-leader"),
            (HazardIdentified(hazard="O2_deficiency"), "e-leader"),
            (
                RoleAssigned(role=Role.ENTRANT, person=site.desk.person_snapshot(worker, "E-S1")),
                "e-leader",
            ),
        ],
    )
    found = site.automatic_findings("PMT-E2E-ROSTER")
    assert code in found and found[code]["seq"] == 3, found


@pytest.mark.ledger_rule("ROSTER_CONTRACTOR_BLACKLISTED")
def test_a_blacklisted_contractors_worker_is_refused(site: Site) -> None:
    site.put(
        "contractors",
        "CON-BAD",
        contractor("黑名单承包商", blacklisted_on=days(-3), blacklist_reason="fatal accident"),
    )
    _ledger(site, person("王五", contractor="CON-BAD"))
    site.enrol()
    snapshot = site.desk.person_snapshot(site.store.reference("people", "e-worker") or {})
    assert snapshot.contractor is not None and snapshot.contractor.blacklisted_on is not None
    _refused_on_tablet_and_found_by_the_server(site, "ROSTER_CONTRACTOR_BLACKLISTED")


@pytest.mark.ledger_rule("ROSTER_CONTRACT_NOT_VALID")
def test_a_worker_of_a_contractor_whose_contract_ended_is_refused(site: Site) -> None:
    site.put(
        "contractors",
        "CON-OLD",
        contractor("合同到期承包商", contract_valid_from=days(-400), contract_valid_until=days(-2)),
    )
    _ledger(site, person("赵六", contractor="CON-OLD"))
    site.enrol()
    _refused_on_tablet_and_found_by_the_server(site, "ROSTER_CONTRACT_NOT_VALID")


@pytest.mark.ledger_rule("ROSTER_CONTRACTOR_UNKNOWN")
def test_a_worker_of_an_unregistered_contractor_is_refused(site: Site) -> None:
    _ledger(site, person("钱七", contractor="CON-NOBODY"))
    site.enrol()
    _refused_on_tablet_and_found_by_the_server(site, "ROSTER_CONTRACTOR_UNKNOWN")


@pytest.mark.ledger_rule("PERSON_TRAINING_INVALID")
def test_a_worker_whose_training_lapsed_is_refused(site: Site) -> None:
    _ledger(site, person("孙八", trained_until=days(-2)))
    site.enrol()
    setup = _draft(site)
    (row,) = [c for c in setup.candidates(Role.ENTRANT) if c.person_id == "e-worker"]
    assert row.blocked
    # The set-up screen blocks before the core; the core refuses the same assignment.
    worker = site.store.reference("people", "e-worker")
    assert worker is not None
    outcome = setup._do(
        lambda: site.desk.record(
            setup.permit_id,
            RoleAssigned(role=Role.ENTRANT, person=site.desk.person_snapshot(worker)),
            actor="e-leader",
        )
    )
    assert "PERSON_TRAINING_INVALID" in outcome.codes, outcome.lines()
    site.push_broken(
        "PMT-E2E-TRAINING",
        [
            (site.drafted("E-S1"), "e-leader"),
            (RoleAssigned(role=Role.ENTRANT, person=site.desk.person_snapshot(worker)), "e-leader"),
        ],
    )
    assert "PERSON_TRAINING_INVALID" in site.automatic_findings("PMT-E2E-TRAINING")
