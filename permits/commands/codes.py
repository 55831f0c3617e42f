"""The reason codes of the confined-space rules, each with its message and remedy.

A code is a :class:`~permits.messages.ReasonCode` member, so it compares equal to
its string (``Code.NO_PERMIT == "NO_PERMIT"``) and stored verdicts keep their
codes; the message and remedy are ``N_`` templates filled with the unmet
condition's facts and translated when rendered (``permits/locale``). The LOTO,
interlock and hazard codes live with their modules (:mod:`permits.loto`,
:mod:`permits.interlock`, :mod:`permits.hazards`).
"""

from __future__ import annotations

from permits.messages import N_, ReasonCode, register_fact_words
from permits.words import EVENT_WORDS, STATUS_WORDS

__all__ = ["LEDGER_RULE_CODES", "Code"]


class Code(ReasonCode):
    # Any permit type: the chain and the status table (permits.commands.decision).
    NO_PERMIT = "NO_PERMIT", N_("there is no permit yet"), N_("draft the permit first")
    PERMIT_ALREADY_DRAFTED = (
        "PERMIT_ALREADY_DRAFTED",
        N_("permit {permit} has already been drafted"),
        N_("continue the existing permit"),
    )
    WRONG_PERMIT_EVENT = (
        "WRONG_PERMIT_EVENT",
        N_("the event is for permit {got}, not {expected}"),
        N_("record the event on the right permit"),
    )
    OUT_OF_SEQUENCE = (
        "OUT_OF_SEQUENCE",
        N_("event number {got} does not follow {expected}"),
        N_("pull the permit's latest events and try again"),
    )
    NOT_ALLOWED_IN_STATUS = (
        "NOT_ALLOWED_IN_STATUS",
        N_("“{action}” cannot be recorded while the permit is {status}"),
        N_("this is possible only while the permit is {allowed}"),
    )
    PERMIT_PROFILE_UNKNOWN = (
        "PERMIT_PROFILE_UNKNOWN",
        N_("the permit's atmosphere profile {profile} cannot be loaded"),
        N_("draft the permit with one of the installed profiles"),
    )
    PERMIT_PROFILE_OVERRIDE_INVALID = (
        "PERMIT_PROFILE_OVERRIDE_INVALID",
        N_("the enterprise's override of profile {profile} cannot be applied: {detail}"),
        N_("correct the enterprise's profile override in the ledger (it may only tighten)"),
    )
    PERMIT_LEDGER_TOO_OLD = (
        "PERMIT_LEDGER_TOO_OLD",
        N_("the tablet's ledger was last synced {age_days} days ago; the limit is {max_days}"),
        N_("sync the tablet, or a supervisor signs a reason to draft on this copy"),
    )
    PERMIT_LEDGER_OVERRIDE_NO_REASON = (
        "PERMIT_LEDGER_OVERRIDE_NO_REASON",
        N_("the override of the stale-ledger limit gives no reason"),
        N_("the supervisor writes why the permit cannot wait for a sync"),
    )
    # Sign-offs (common.signoff_unmet).
    SIGNOFF_WRONG_MEANING = (
        "SIGNOFF_WRONG_MEANING",
        N_("{person}'s signature means {got}, not {expected}"),
        N_("sign again for the right purpose"),
    )
    SIGNOFF_PIN_NOT_VERIFIED = (
        "SIGNOFF_PIN_NOT_VERIFIED",
        N_("{person}'s PIN was not verified on the tablet"),
        N_("{person} enters their PIN and signs again"),
    )
    SIGNOFF_STALE_STATE = (
        "SIGNOFF_STALE_STATE",
        N_("{person} signed a different state of the permit"),
        N_("show {person} the current permit and have them sign again"),
    )
    SIGNOFF_IN_FUTURE = (
        "SIGNOFF_IN_FUTURE",
        N_("{person}'s signature is dated after the event"),
        N_("check the tablet clock and sign again"),
    )
    # Roster and people.
    PERSON_TRAINING_INVALID = (
        "PERSON_TRAINING_INVALID",
        N_("{person} has no valid confined-space training on {date}"),
        N_("untrained people may not take part (MEM13 Art. 9): renew the training first"),
    )
    PERSON_CONTRACTOR_BLACKLISTED = (
        "PERSON_CONTRACTOR_BLACKLISTED",
        N_("{person}'s employer {contractor} is blacklisted"),
        N_("choose a person from an approved contractor"),
    )
    ROLE_CONFLICT = (
        "ROLE_CONFLICT",
        N_("{person} cannot be both {role} and {other}"),
        N_("the guardian never enters: assign a different person"),
    )
    APPROVER_NOT_ASSIGNED = (
        "APPROVER_NOT_ASSIGNED",
        N_("{person} is not assigned as approver of this permit"),
        N_("assign {person} as approver first"),
    )
    APPROVER_LACKS_AUTHORITY = (
        "APPROVER_LACKS_AUTHORITY",
        N_("{person} has no authority to approve {space} ({required})"),
        N_("the principal (主要负责人) or a written delegate must approve a key-supervision space"),
    )
    DELEGATION_MISSING = (
        "DELEGATION_MISSING",
        N_("{person} is a delegate but no written delegation is recorded"),
        N_("record the written delegation's reference"),
    )
    NO_HAZARD_IDENTIFIED = (
        "NO_HAZARD_IDENTIFIED",
        N_("no hazard has been identified on this permit"),
        N_("identify the hazards of the space and the work before approval"),
    )
    NOT_AN_ENTRANT = (
        "NOT_AN_ENTRANT",
        N_("{person} is not an entrant of this permit"),
        N_("add {person} to the roster first"),
    )
    # Entry and guardian.
    GUARDIAN_NOT_ASSIGNED = (
        "GUARDIAN_NOT_ASSIGNED",
        N_("{person} is not assigned as guardian of this permit"),
        N_("assign {person} as guardian first"),
    )
    GUARDIAN_ALREADY_ON_DUTY = (
        "GUARDIAN_ALREADY_ON_DUTY",
        N_("{person} is already the guardian on duty"),
        N_("use a signed guardian handover"),
    )
    GUARDIAN_NOT_CURRENT = (
        "GUARDIAN_NOT_CURRENT",
        N_("{person} is not the guardian on duty"),
        N_("only the guardian on duty can hand over or leave"),
    )
    GUARDIAN_MUST_BE_ENTRANT_FREE = (
        "GUARDIAN_MUST_BE_ENTRANT_FREE",
        N_("{person} is an entrant and cannot be the guardian"),
        N_("assign a guardian who does not enter"),
    )
    HANDOVER_SAME_PERSON = (
        "HANDOVER_SAME_PERSON",
        N_("a guardian cannot hand over to themselves"),
        N_("choose the incoming guardian"),
    )
    CONFIRMER_NOT_GUARDIAN = (
        "CONFIRMER_NOT_GUARDIAN",
        N_("{person} is not the guardian on duty"),
        N_("the guardian on duty confirms the equipment item by item"),
    )
    EQUIPMENT_ITEM_UNKNOWN = (
        "EQUIPMENT_ITEM_UNKNOWN",
        N_("{item} is not required equipment for this space"),
        N_("confirm the items the space requires"),
    )
    ENTRANT_NOT_INSIDE = (
        "ENTRANT_NOT_INSIDE",
        N_("{person} is not recorded inside"),
        N_("nothing to record"),
    )
    ENTRANTS_INSIDE = (
        "ENTRANTS_INSIDE",
        N_("people are still inside: {people}"),
        N_("everyone must exit first"),
    )
    # Atmosphere and monitoring.
    MANUAL_TEST_NOT_COUNTERSIGNED = (
        "MANUAL_TEST_NOT_COUNTERSIGNED",
        N_("a manually entered atmosphere test needs a countersign"),
        N_("a second person checks the detector's display and countersigns"),
    )
    COUNTERSIGN_SAME_PERSON = (
        "COUNTERSIGN_SAME_PERSON",
        N_("{person} cannot countersign their own test"),
        N_("a second person must countersign"),
    )
    DETECTOR_MISMATCH = (
        "DETECTOR_MISMATCH",
        N_("the test names detector {got} but the record names {expected}"),
        N_("record the test from the detector that took it"),
    )
    ATMOSPHERE_TEST_INVALID = (
        "ATMOSPHERE_TEST_INVALID",
        N_("the atmosphere test is not readable at {field}: expected {expected}"),
        N_("record the test again from the detector"),
    )
    READINGS_NOT_LATEST_PASSING = (
        "READINGS_NOT_LATEST_PASSING",
        N_("event {test_seq} is not the latest passing test"),
        N_("confirm the readings of the latest passing test"),
    )
    MONITORING_DETECTOR_NOT_CALIBRATED = (
        "MONITORING_DETECTOR_NOT_CALIBRATED",
        N_("detector {detector}'s calibration was due {calibration_due}"),
        N_("monitor with a calibrated detector"),
    )
    MONITORING_DETECTOR_NOT_BUMP_TESTED = (
        "MONITORING_DETECTOR_NOT_BUMP_TESTED",
        N_("detector {detector}'s last bump test ({last_bump_test}) is not within {max_hours} h"),
        N_("bump-test the detector with test gas before monitoring"),
    )
    MONITORING_ALREADY_LIVE = (
        "MONITORING_ALREADY_LIVE",
        N_("monitoring by {detector} is already live"),
        N_("stop it first"),
    )
    MONITORING_NOT_LIVE = (
        "MONITORING_NOT_LIVE",
        N_("no monitoring by {detector} is live"),
        N_("nothing to stop"),
    )
    MONITORING_STOP_WHILE_INSIDE = (
        "MONITORING_STOP_WHILE_INSIDE",
        N_("continuous monitoring cannot stop while people are inside: {people}"),
        N_("everyone exits first"),
    )
    VENTILATION_STOP_WHILE_INSIDE = (
        "VENTILATION_STOP_WHILE_INSIDE",
        N_("ventilation cannot stop while people are inside: {people}"),
        N_("ventilation runs for the whole job (MEM13 Art. 15); everyone exits first"),
    )
    # Close-out and lifecycle.
    VALIDITY_TOO_LONG = (
        "VALIDITY_TOO_LONG",
        N_("a validity of {minutes} min is longer than the profile allows ({max_minutes} min)"),
        N_("choose a validity within the profile's limit"),
    )
    LOCKS_STILL_ON = (
        "LOCKS_STILL_ON",
        N_("locks are still on: {locks}"),
        N_("each lock must be removed by the person who applied it"),
    )
    ALARM_NOT_ACTIVE = (
        "ALARM_NOT_ACTIVE",
        N_("alarm {alarm} is not active"),
        N_("check the alarm id"),
    )
    ALARM_ALREADY_ACTIVE = (
        "ALARM_ALREADY_ACTIVE",
        N_("alarm {alarm} is already active"),
        N_("use a new alarm id"),
    )
    RESUME_NEEDS_NEW_TEST = (
        "RESUME_NEEDS_NEW_TEST",
        N_("the permit can resume only on a passing test made after the interruption"),
        N_("ventilate, test the atmosphere again, then resume"),
    )
    RESUME_ALARM_ACTIVE = (
        "RESUME_ALARM_ACTIVE",
        N_("an alarm is still active: {alarms}"),
        N_("find the cause and clear the alarm first"),
    )
    CLOSE_SIGNER_NOT_RESPONSIBLE = (
        "CLOSE_SIGNER_NOT_RESPONSIBLE",
        N_("{person} is neither the work leader nor the approver"),
        N_("the work leader or the approver signs the close"),
    )
    NOT_YET_EXPIRED = (
        "NOT_YET_EXPIRED",
        N_("the permit is valid until {expires_at}"),
        N_("nothing to record"),
    )
    SIMOPS_ACK_NOT_APPROVER = (
        "SIMOPS_ACK_NOT_APPROVER",
        N_("{person} is not this permit's approver"),
        N_("the permit's approver acknowledges the simultaneous operation"),
    )
    SAME_DEVICE = (
        "SAME_DEVICE",
        N_("the permit is already on device {device}"),
        N_("choose the new device"),
    )


# The status table's refusal names the event and the statuses in words (its facts stay
# codes in a stored verdict).
register_fact_words(
    Code.NOT_ALLOWED_IN_STATUS, action=EVENT_WORDS, status=STATUS_WORDS, allowed=STATUS_WORDS
)

# Every reason code whose rule reads a fact that comes from the enterprise's ledger (the
# server's reference data, pulled by the tablet and carried in the permit's snapshots),
# with the ledger kind and fields it reads. Each has one end-to-end test (tests/e2e,
# marked ``ledger_rule(CODE)``: the ledger entered through the server's API, a synced
# tablet refusing, the server's replay finding a chain that broke it); a test fails when
# one has none. The table in docs/rules.md (Every ledger fact reaches its rule) lists them.
LEDGER_RULE_CODES: dict[str, str] = {
    "ROSTER_CONTRACTOR_BLACKLISTED": "contractors: blacklisted_on",
    "ROSTER_CONTRACT_NOT_VALID": "contractors: contract_valid_from, contract_valid_until",
    "ROSTER_CONTRACTOR_UNKNOWN": "people: employer; contractors (none registered)",
    Code.PERSON_TRAINING_INVALID: "training: valid_until",
    Code.APPROVER_LACKS_AUTHORITY: "spaces: key_supervision, hazards, required_channels; "
    "people: roles",
    "DELEGATION_NOT_VALID": "delegations: valid_from, valid_until",
    "DELEGATION_NOT_FOR_SPACE": "delegations: space_ids",
    "O2_HIGH": "spaces: profile; default-profile; profile-overrides",
    Code.MONITORING_DETECTOR_NOT_CALIBRATED: "detectors: calibration_due",
    Code.MONITORING_DETECTOR_NOT_BUMP_TESTED: "detectors: bump_tests",
    Code.PERMIT_LEDGER_TOO_OLD: "the tablet's last pull of the ledger",
}
