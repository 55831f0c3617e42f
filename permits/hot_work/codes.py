"""The hot-work reason codes, each with its message and remedy (docs/rules.md, Hot
work), in the :class:`~permits.messages.ReasonCode` pattern of ``permits.commands.codes``."""

from __future__ import annotations

from permits.messages import N_, ReasonCode, register_fact_words
from permits.words import STATUS_WORDS

__all__ = ["HotWorkCode"]


class HotWorkCode(ReasonCode):
    HOT_WORK_PROFILE_UNKNOWN = (
        "HOT_WORK_PROFILE_UNKNOWN",
        N_("there is no hot-work profile {profile}"),
        N_("draft the permit with one of the installed hot-work profiles"),
    )
    HOT_WORK_CALENDAR_MISSING = (
        "HOT_WORK_CALENDAR_MISSING",
        N_("there is no holiday calendar for {year} and the draft does not say so"),
        N_(
            "draft it with the app, which records the year and raises the level, "
            "or install the holiday calendar for {year}"
        ),
    )
    HOT_WORK_WINDOW_TOO_LONG = (
        "HOT_WORK_WINDOW_TOO_LONG",
        N_("a {level} hot-work permit is valid for at most {hours} h; the plan asks {asked} h"),
        N_("split the work into permits no longer than {hours} h"),
    )
    HOT_WORK_FIRE_POINT_DUPLICATE = (
        "HOT_WORK_FIRE_POINT_DUPLICATE",
        N_("fire point {point} is listed twice"),
        N_("give each fire point its own id"),
    )
    HOT_WORK_FIRE_POINT_UNKNOWN = (
        "HOT_WORK_FIRE_POINT_UNKNOWN",
        N_("fire point {point} is not on this permit"),
        N_("record it at one of the permit's fire points"),
    )
    HOT_WORK_OPERATOR_NOT_CERTIFIED = (
        "HOT_WORK_OPERATOR_NOT_CERTIFIED",
        N_("{person} holds no valid welding and hot-cutting certificate"),
        N_("only a certified operator (焊接与热切割作业) may do hot work"),
    )
    HOT_WORK_WATCHER_IS_OPERATOR = (
        "HOT_WORK_WATCHER_IS_OPERATOR",
        N_("{person} cannot be both an operator and the fire watcher"),
        N_("name a fire watcher who is not one of the operators"),
    )
    HOT_WORK_NO_OPERATOR = (
        "HOT_WORK_NO_OPERATOR",
        N_("no operator is named"),
        N_("assign a certified operator"),
    )
    HOT_WORK_NO_FIRE_WATCHER = (
        "HOT_WORK_NO_FIRE_WATCHER",
        N_("no fire watcher is named"),
        N_("assign a fire watcher (监火人)"),
    )
    HOT_WORK_APPROVER_NOT_AUTHORISED = (
        "HOT_WORK_APPROVER_NOT_AUTHORISED",
        N_("a {level} hot-work permit needs approval by {required}, not {authority}"),
        N_("have the permit approved by {required}"),
    )
    HOT_WORK_APPROVER_MISMATCH = (
        "HOT_WORK_APPROVER_MISMATCH",
        N_("the signature is {person}'s, not the approver {approver}'s"),
        N_("the approver signs the approval"),
    )
    HOT_WORK_WATCHER_NOT_PRESENT = (
        "HOT_WORK_WATCHER_NOT_PRESENT",
        N_("{person} is not a fire watcher of this permit"),
        N_("the named fire watcher confirms presence and signs"),
    )
    HOT_WORK_NO_ANALYSIS = (
        "HOT_WORK_NO_ANALYSIS",
        N_("fire point {point} has no gas analysis"),
        N_("analyse the gas at the fire point within 30 min before the fire starts"),
    )
    HOT_WORK_ANALYSIS_FAILED = (
        "HOT_WORK_ANALYSIS_FAILED",
        N_("the latest gas analysis at fire point {point} failed"),
        N_("remove the source, ventilate and analyse again"),
    )
    HOT_WORK_ANALYSIS_TOO_OLD = (
        "HOT_WORK_ANALYSIS_TOO_OLD",
        N_("the gas analysis at fire point {point} is {age_min} min old (limit {limit_min} min)"),
        N_("analyse the gas at the fire point again"),
    )
    HOT_WORK_REANALYSIS_NEEDED = (
        "HOT_WORK_REANALYSIS_NEEDED",
        N_("the work was interrupted for {minutes} min: fire point {point} needs a new analysis"),
        N_("analyse the gas at the fire point again before the fire restarts"),
    )
    HOT_WORK_MONITORING_REQUIRED = (
        "HOT_WORK_MONITORING_REQUIRED",
        N_("special-level hot work needs continuous gas monitoring"),
        N_("start continuous monitoring at the fire point"),
    )
    HOT_WORK_LINKED_PERMIT_MISSING = (
        "HOT_WORK_LINKED_PERMIT_MISSING",
        N_("this hot work is inside a confined space: permit {permit} must be shown"),
        N_("open the confined-space permit {permit} on this tablet"),
    )
    HOT_WORK_LINKED_PERMIT_NOT_ACTIVE = (
        "HOT_WORK_LINKED_PERMIT_NOT_ACTIVE",
        N_("the confined-space permit {permit} is {status}, not active"),
        N_("the confined-space permit must be active before the fire starts"),
    )
    HOT_WORK_BEFORE_WINDOW = (
        "HOT_WORK_BEFORE_WINDOW",
        N_("the permit's window starts at {start}"),
        N_("wait for the planned start"),
    )
    HOT_WORK_ALARM_ACTIVE = (
        "HOT_WORK_ALARM_ACTIVE",
        N_("a gas alarm is still active: {alarms}"),
        N_("find the cause and clear the alarm first"),
    )
    HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS = (
        "HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS",
        N_("fire point {point} has no passing analysis since the suspension"),
        N_("analyse the gas at every fire point again, then resume"),
    )
    HOT_WORK_FIRE_WATCH_TOO_SHORT = (
        "HOT_WORK_FIRE_WATCH_TOO_SHORT",
        N_("the fire watch has run {elapsed_min} min of the {required_min} min required"),
        N_("keep watching; the fire watch cannot be shortened"),
    )
    HOT_WORK_WATCH_PRESENCE_NOT_CONFIRMED = (
        "HOT_WORK_WATCH_PRESENCE_NOT_CONFIRMED",
        N_("the fire watcher has not confirmed presence during the fire watch"),
        N_("the fire watcher confirms presence on the tablet"),
    )
    HOT_WORK_FIRE_WATCH_OWED = (
        "HOT_WORK_FIRE_WATCH_OWED",
        N_("the fire has burned: the fire watch must be completed first"),
        N_("finish the work, keep the fire watch, then close or cancel"),
    )
    HOT_WORK_ACK_NOT_APPROVER = (
        "HOT_WORK_ACK_NOT_APPROVER",
        N_("{person} is not this permit's approver"),
        N_("the permit's approver acknowledges the simultaneous operation"),
    )
    # Duties shown during work (not refusals).
    HOT_WORK_ANALYSIS_DAILY_DUE = (
        "HOT_WORK_ANALYSIS_DAILY_DUE",
        N_("fire point {point} was last analysed more than {hours} h ago"),
        N_("analyse the gas again: at least once a day"),
    )
    # Why a gas analysis fails (permits.hot_work.state.judge_analysis).
    HOT_WORK_FLAMMABLE_HIGH = (
        "HOT_WORK_FLAMMABLE_HIGH",
        N_("{channel} is {value_vol} %VOL at the fire point, above {limit_vol} %VOL"),
        N_("remove the source, ventilate and analyse again; no fire"),
    )
    HOT_WORK_ANALYSIS_TOO_FAR = (
        "HOT_WORK_ANALYSIS_TOO_FAR",
        N_("the gas was sampled {distance_m} m from the fire point (at most {limit_m} m)"),
        N_("sample within {limit_m} m of the fire point"),
    )
    HOT_WORK_ANALYSIS_IN_FUTURE = (
        "HOT_WORK_ANALYSIS_IN_FUTURE",
        N_("the sample time is later than the time it was recorded"),
        N_("check the clocks and analyse again"),
    )
    HOT_WORK_NO_FLAMMABLE_READING = (
        "HOT_WORK_NO_FLAMMABLE_READING",
        N_("the analysis has no reading of a known flammable gas"),
        N_("measure the flammable gas (LEL channel or the gas itself)"),
    )
    HOT_WORK_NO_OXYGEN_READING = (
        "HOT_WORK_NO_OXYGEN_READING",
        N_("an analysis inside the equipment needs an oxygen reading"),
        N_("measure oxygen inside the equipment"),
    )
    HOT_WORK_OXYGEN_HIGH = (
        "HOT_WORK_OXYGEN_HIGH",
        N_("oxygen inside the equipment is {value_vol} %VOL, above {limit} %VOL"),
        N_("stop any oxygen source, ventilate with air and analyse again"),
    )
    HOT_WORK_SENSOR_FAULT = (
        "HOT_WORK_SENSOR_FAULT",
        N_("the {channel} reading is flagged {flags}: it gives no verdict"),
        N_("wait for warm-up or change the detector, then analyse again"),
    )
    HOT_WORK_CALIBRATION_EXPIRED = (
        "HOT_WORK_CALIBRATION_EXPIRED",
        N_("the detector's calibration was due on {due}"),
        N_("use a calibrated detector"),
    )


# The linked confined-space permit's status in words (its fact stays the code).
register_fact_words(HotWorkCode.HOT_WORK_LINKED_PERMIT_NOT_ACTIVE, status=STATUS_WORDS)
