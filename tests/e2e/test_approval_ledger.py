"""Who may approve, from the ledger: the space's poisoning risk (its hazards, not only its
flag) and the principal's written delegations (MEM13 Art. 7; docs/rules.md, People,
contractors and spaces), end to end."""

from __future__ import annotations

import pytest

from permits.events import Approved, HazardIdentified, Role, RoleAssigned, SignOffMeaning
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.setup import SetupPresenter
from tests.e2e.harness import Site, days, person, space


def _draft_and_staff(site: Site, space_id: str, approver: str) -> SetupPresenter:
    site.sign_in("e-leader")
    outcome = HomePresenter(site.context, site.desk).new_permit(space_id, "清淤")
    assert outcome.ok, outcome.lines()
    setup = SetupPresenter(site.context, site.desk)
    assert setup.identify_hazard("H2S", ("ventilate", "SCBA")).ok, setup.last
    assert setup.assign(approver, Role.APPROVER).ok, setup.last and setup.last.lines()
    site.sign_in(approver)
    return setup


def _push_approved_by(site: Site, permit_id: str, space_id: str, approver: str) -> None:
    row = site.store.reference("people", approver)
    assert row is not None
    steps = [
        (site.drafted(space_id), "e-leader"),
        (HazardIdentified(hazard="H2S"), "e-leader"),
        (
            RoleAssigned(role=Role.APPROVER, person=site.desk.person_snapshot(row, space_id)),
            "e-leader",
        ),
    ]
    events = site.push_broken(permit_id, steps)
    # Then the approval, signed over the head the approver saw.
    signoff = site.signoff(events, approver, SignOffMeaning.APPROVE)
    site.push_more(permit_id, events, [(Approved(signoff=signoff), approver)])


@pytest.mark.ledger_rule("APPROVER_LACKS_AUTHORITY")
def test_a_poisoning_risk_space_without_its_flag_needs_the_principal(site: Site) -> None:
    # H2S among the hazards, the key-supervision flag forgotten.
    site.put("spaces", "E-PIT", space("E-PIT", hazards=["H2S"], key_supervision=False))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.put("people", "e-approver", person("普通审批人", roles=["approver"]))
    site.enrol()
    row = site.store.reference("spaces", "E-PIT")
    assert row is not None and row["hazards"] == ["H2S"]
    assert site.desk.space_snapshot(row).requires_principal_approval

    setup = _draft_and_staff(site, "E-PIT", "e-approver")
    outcome = setup.approve()
    assert not outcome.ok and outcome.codes == ["APPROVER_LACKS_AUTHORITY"], outcome.lines()
    assert setup.state().approved_by is None

    _push_approved_by(site, "PMT-E2E-APPROVAL", "E-PIT", "e-approver")
    found = site.automatic_findings("PMT-E2E-APPROVAL")
    assert found["APPROVER_LACKS_AUTHORITY"]["seq"] == 4, found


def _delegation_ledger(site: Site, **delegation: object) -> None:
    site.put("spaces", "E-TANK", space("E-TANK", hazards=["H2S"], key_supervision=True))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.put("people", "e-boss", person("主要负责人", roles=["principal"]))
    site.put("people", "e-deputy", person("受委托人"))
    site.put(
        "delegations",
        "DLG-1",
        {
            "delegator": "e-boss",
            "delegate": "e-deputy",
            "valid_from": days(-30),
            "valid_until": days(30),
            "document_ref": "委托书 2026-07",
            **delegation,
        },
    )


@pytest.mark.ledger_rule("DELEGATION_NOT_VALID")
def test_a_written_delegate_approves_until_the_delegation_ends(site: Site) -> None:
    _delegation_ledger(site)
    site.enrol()
    setup = _draft_and_staff(site, "E-TANK", "e-deputy")
    recorded = setup.state().people["e-deputy"]
    assert recorded.approval_authority == "delegate"
    assert recorded.delegation is not None and recorded.delegation.delegator == "e-boss"
    assert setup.approve().ok, setup.last and setup.last.lines()
    site.sync()
    assert site.automatic_findings(setup.permit_id) == {}  # the server agrees

    # The delegation ended yesterday; the ledger says so, the tablet syncs it.
    site.put(
        "delegations",
        "DLG-1",
        {
            "delegator": "e-boss",
            "delegate": "e-deputy",
            "valid_from": days(-60),
            "valid_until": days(-2),
            "document_ref": "委托书 2026-07",
        },
    )
    site.sync()
    setup = _draft_and_staff(site, "E-TANK", "e-deputy")
    outcome = setup.approve()
    assert not outcome.ok and outcome.codes == ["DELEGATION_NOT_VALID"], outcome.lines()

    _push_approved_by(site, "PMT-E2E-DELEGATE", "E-TANK", "e-deputy")
    assert site.automatic_findings("PMT-E2E-DELEGATE")["DELEGATION_NOT_VALID"]["seq"] == 4


@pytest.mark.ledger_rule("DELEGATION_NOT_FOR_SPACE")
def test_a_delegation_for_other_spaces_does_not_cover_this_one(site: Site) -> None:
    _delegation_ledger(site, space_ids=["E-ELSEWHERE"])
    site.enrol()
    setup = _draft_and_staff(site, "E-TANK", "e-deputy")
    outcome = setup.approve()
    assert not outcome.ok and outcome.codes == ["DELEGATION_NOT_FOR_SPACE"], outcome.lines()

    _push_approved_by(site, "PMT-E2E-DLG-SPACE", "E-TANK", "e-deputy")
    assert "DELEGATION_NOT_FOR_SPACE" in site.automatic_findings("PMT-E2E-DLG-SPACE")
