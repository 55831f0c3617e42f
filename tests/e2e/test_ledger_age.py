"""A tablet drafts only on a ledger copy younger than the limit (permits/data/
reference.toml ``[ledger]``, 7 days), or with a supervisor's signed reason, end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tablet_app.presenters.home import HomePresenter, StaleLedgerOverride
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.reference_sync import PULLED_AT
from tablet_app.theme import Level
from tests.e2e.harness import PIN, Site, person, space


@pytest.mark.ledger_rule("PERMIT_LEDGER_TOO_OLD")
def test_a_week_old_ledger_needs_a_sync_or_a_supervisors_signed_reason(site: Site) -> None:
    site.put("spaces", "E-S1", space("E-S1"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.put("people", "e-safety", person("安全管理人员", roles=["safety_manager"]))
    site.enrol()
    home = HomePresenter(site.context, site.desk)
    assert home.view().ledger_age_level is Level.SAFE

    # Eight days without a sync.
    eight_days_ago = site.context.now() - timedelta(days=8)
    site.store.set_setting(PULLED_AT, eight_days_ago.isoformat())
    view = home.view()
    assert view.ledger_age_level is Level.ALARM and "8" in view.ledger_age, view.ledger_age
    assert "8" in SettingsPresenter(site.context).view().ledger_age
    site.sign_in("e-leader")
    outcome = home.new_permit("E-S1", "检修")
    assert not outcome.ok and outcome.codes == ["PERMIT_LEDGER_TOO_OLD"], outcome.lines()
    assert site.desk.permit_ids() == []

    # The screen now offers the override, to be signed by a supervisor only.
    offered = dict(home.view().override_supervisors)
    assert offered["e-safety"] == "安全管理人员" and "e-leader" not in offered
    assert not home.draft_with_override("检修", "e-safety", "0000", "network down").ok
    assert home.view().override_supervisors  # a wrong PIN leaves the offer on screen
    # The work leader cannot sign the override; a supervisor can, with a reason.
    leader_override = StaleLedgerOverride("e-leader", PIN, "network down for a week")
    assert not home.new_permit("E-S1", "检修", stale_override=leader_override).ok
    outcome = home.new_permit("E-S1", "检修")  # refused again: the screen offers it again
    assert outcome.codes == ["PERMIT_LEDGER_TOO_OLD"] and home.stale_refusal == "E-S1"
    outcome = home.draft_with_override(
        "检修", "e-safety", PIN, "network down for a week; pump failure"
    )
    assert outcome.ok, outcome.lines()
    assert home.view().override_supervisors == ()
    (drafted,) = [e for e in site.store.events_for_permit(outcome.value) if e["seq"] == 1]
    assert drafted["payload"]["stale_ledger_override"]["person_id"] == "e-safety"
    assert drafted["payload"]["ledger_as_of"].startswith(eight_days_ago.date().isoformat())
    site.sync()  # the overridden permit reaches the server: no finding
    assert site.automatic_findings(outcome.value) == {}
    # After the sync the ledger is current again: no override needed.
    assert home.new_permit("E-S1", "检修").ok

    site.push_broken(
        "PMT-E2E-STALE", [(site.drafted("E-S1", ledger_as_of=eight_days_ago), "e-leader")]
    )
    assert site.automatic_findings("PMT-E2E-STALE")["PERMIT_LEDGER_TOO_OLD"]["seq"] == 1
