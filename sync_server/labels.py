"""Names shown to people for the codes the system stores, and time formatting.

Every label is an English msgid translated through the page's gettext, so the same table
serves the zh_CN pages, the en pages and the (always Chinese) permit PDF.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from permits.ledger_check import MISMATCH_PREFIX
from permits.words import EVENT_WORDS, STATUS_WORDS
from sync_server.i18n import Gettext

# China keeps one offset all year (no daylight saving): the bureau reads Beijing time.
BEIJING = timezone(timedelta(hours=8), "UTC+8")

# Events and permit statuses: the core's tables, so its refusals and the pages say a
# status in the same words (permits/words.py).
EVENT_TYPES: dict[str, str] = EVENT_WORDS
PERMIT_STATUSES: dict[str, str] = STATUS_WORDS


def N_(message: str) -> str:
    """Mark a string for translation without translating it now."""
    return message


PERMIT_TYPES: dict[str, str] = {
    "confined_space": N_("confined space"),
    "hot_work": N_("hot work"),
}

HOT_WORK_LEVELS: dict[str, str] = {
    "special": N_("special level"),
    "first": N_("first level"),
    "second": N_("second level"),
}

HOT_WORK_ROLES: dict[str, str] = {
    "work_leader": N_("work leader"),
    "operator": N_("hot-work operator"),
    "fire_watcher": N_("fire watcher"),
}

HOT_WORK_AUTHORITIES: dict[str, str] = {
    "work_unit": N_("the unit where the work is done"),
    "safety_department": N_("the safety department"),
    "production_safety_lead": N_("the leader in charge of production safety"),
}

# Why a hot-work level was raised (permits.hot_work.data.raise_reasons).
HOT_WORK_RAISE_REASONS: dict[str, str] = {
    "holiday": N_("public holiday"),
    "rest_day": N_("rest day"),
    "night": N_("at night"),
    "no_calendar": N_("no holiday calendar for that year"),
}

# The pair rules of permits/data/simops.toml, by id.
SIMOPS_RULES: dict[str, str] = {
    "hot_work_near_flammable_gas_venting": N_("hot work within 30 m of flammable gas venting"),
    "hot_work_near_flammable_liquid_transfer": N_(
        "hot work within 15 m of flammable liquid draining or transfer"
    ),
    "hot_work_near_painting": N_("hot work within 10 m of painting"),
    "hot_work_near_solvent_cleaning": N_("hot work within 10 m of solvent cleaning"),
    "hot_work_near_dust_sweeping": N_("hot work within 10 m of dust sweeping"),
    "hot_work_near_blind_plate": N_("hot work within 30 m of blind-plate work"),
    "blind_plates_on_one_pipeline": N_("two blind-plate jobs on one pipeline"),
    "hot_work_and_painting_in_one_space": N_("hot work and painting in the same space"),
    "shared_space_equipment_or_isolation": N_(
        "the same confined space, equipment or isolation point"
    ),
}

SIMOPS_VERDICTS: dict[str, str] = {
    "never": N_("never at the same time"),
    "conditional": N_("only with a coordinator"),
}

# The snapshot fields the server's ledger cross-check compares (permits.ledger_check).
LEDGER_FIELDS: dict[str, str] = {
    "": N_("in the ledger"),
    "employer_id": N_("employer"),
    "contractor_id": N_("contractor"),
    "contractor_blacklisted": N_("contractor blacklisted"),
    "contractor": N_("contractor and contract"),
    "delegation": N_("written delegation"),
    "requires_principal_approval": N_("needs the principal's approval (poisoning risk)"),
    "hazards": N_("hazards"),
    "oxygen_enriched": N_("oxygen may be enriched"),
    "profile_override": N_("the enterprise's stricter limits"),
    "training_valid_until": N_("confined-space training valid until"),
    "certificates": N_("certificates"),
    "approval_authority": N_("approval authority"),
    "key_supervision": N_("needs the principal's approval (poisoning risk)"),
    "required_channels": N_("gases to test"),
    "sample_points": N_("sample points"),
    "isolation_points": N_("isolation points"),
    "profile": N_("atmosphere profile"),
    "calibration_due": N_("calibration due"),
    "last_bump_test": N_("last bump test"),
}

# Where a hot work's record of its linked confined-space permit differs from the chain
# the server holds (services.hot_work_links): each field in words.
LINKED_PERMIT_FIELDS: dict[str, str] = {
    "permit_type": N_("type of the linked permit"),
    "head_hash": N_("last event of the linked permit"),
    "status": N_("status of the linked permit"),
    "space_id": N_("confined space of the linked permit"),
}


ROLES: dict[str, str] = {
    "work_leader": N_("work leader"),
    "approver": N_("approver"),
    "guardian": N_("guardian"),
    "entrant": N_("entrant"),
    "principal": N_("principal"),
    "safety_manager": N_("safety manager"),
    "rescuer": N_("rescuer"),
}

HAZARD_STATUSES: dict[str, str] = {
    "reported": N_("reported"),
    "planned": N_("rectification planned"),
    "rectified": N_("rectified"),
    "verified": N_("verified"),
    "closed": N_("closed (销号)"),
}

HAZARD_SOURCES: dict[str, str] = {
    "self_inspection": N_("self-inspection"),
    "worker_report": N_("worker report"),
    "bureau_inspection": N_("bureau inspection"),
    "automatic": N_("automatic finding"),
}

# The loop's next steps as the hazard page's step form offers them (hazard.html).
HAZARD_STEPS: dict[str, str] = {
    "plan": N_("plan the rectification"),
    "rectify": N_("record the rectification"),
    "verify": N_("verify (someone other than the rectifier)"),
    "reject": N_("verification failed: back to planned"),
    "close": N_("close (销号)"),
}

# The step form's fields as its labels name them (hazard.html).
HAZARD_STEP_FIELDS: dict[str, str] = {
    "measures": N_("Measures"),
    "responsible": N_("Responsible person"),
    "deadline": N_("Deadline"),
    "evidence": N_("Evidence"),
    "person": N_("Done on site by"),
}

HAZARD_ACTIONS: dict[str, str] = {
    "hazard_reported": N_("reported"),
    "hazard_planned": N_("rectification planned"),
    "hazard_rectified": N_("rectified"),
    "hazard_verified": N_("verified"),
    "hazard_rejected": N_("verification failed, back to planned"),
    "hazard_closed": N_("closed (销号)"),
    # The core's event names for the same steps (``permits.hazards.HazardEventType``).
    "rectification_planned": N_("rectification planned"),
    "rectification_verified": N_("verified"),
}

# Accounts (``security.Role``) as the accounts pages name them.
ACCOUNT_ROLES: dict[str, str] = {
    "operator": N_("server operator"),
    "enterprise_admin": N_("enterprise admin (safety manager)"),
    "bureau_reviewer": N_("bureau reviewer"),
    "aggregator": N_("provincial platform"),
    "device": N_("tablet"),
}

# An enterprise's industry (the eight industry-and-trade sectors of MEM, and the demo's).
INDUSTRIES: dict[str, str] = {
    "metallurgy": N_("metallurgy"),
    "nonferrous": N_("non-ferrous metals"),
    "building_materials": N_("building materials"),
    "machinery": N_("machinery"),
    "light_industry": N_("light industry"),
    "textile": N_("textiles"),
    "tobacco": N_("tobacco"),
    "trade": N_("commerce and trade"),
    "sugar": N_("sugar making (light industry)"),
    "cement": N_("cement (building materials)"),
}

ISOLATION_METHODS: dict[str, str] = {
    "blind_flange": N_("blind flange"),
    "pipe_section_removed": N_("pipe section removed"),
    "closed_valve": N_("closed valve"),
    "water_seal": N_("water seal"),
    "electrical_lockout": N_("electrical lockout"),
    "mechanical_block": N_("mechanical block"),
}

# ---- Words for the codes the ledger and the findings store (the pages read as safety
# documents: no code is shown as it is stored, docs/web.md "Words, not codes").

# Hazard factors of a space (``ConfinedSpace.hazards``); gases keep their formula.
HAZARD_FACTORS: dict[str, str] = {
    "O2_deficiency": N_("oxygen deficiency (asphyxiation)"),
    "O2_enrichment": N_("oxygen enrichment"),
    "H2S": N_("hydrogen sulphide poisoning"),
    "CO": N_("carbon monoxide poisoning"),
    "CO2": N_("carbon dioxide poisoning"),
    "NH3": N_("ammonia poisoning"),
    "Cl2": N_("chlorine poisoning"),
    "SO2": N_("sulphur dioxide poisoning"),
    "NO2": N_("nitrogen dioxide poisoning"),
    "CH4": N_("methane (fire and explosion)"),
    "flammable": N_("flammable gas or vapour (fire and explosion)"),
    "dust_explosion": N_("combustible dust explosion"),
    "engulfment": N_("engulfment or burial"),
    "drowning": N_("drowning"),
    "electric_shock": N_("electric shock"),
    "mechanical_injury": N_("mechanical injury"),
    "fall": N_("fall from height"),
    "struck_by": N_("struck by falling objects"),
    "heat": N_("high temperature or humidity"),
    "scalding": N_("burns and scalds"),
}

# Protective and rescue equipment (``required_ppe``, ``rescue_equipment``, what a guardian
# confirms on site).
EQUIPMENT: dict[str, str] = {
    "breathing_apparatus": N_("self-contained breathing apparatus"),
    "supplied_air_respirator": N_("supplied-air respirator"),
    "harness": N_("full-body safety harness"),
    "safety_helmet": N_("safety helmet"),
    "anti_static_clothing": N_("anti-static clothing"),
    "protective_gloves": N_("protective gloves"),
    "tripod": N_("rescue tripod"),
    "winch": N_("rescue winch"),
    "stretcher": N_("stretcher"),
    "first_aid_kit": N_("first-aid kit"),
    "lifeline": N_("lifeline"),
    "escape_respirator": N_("escape respirator"),
    "safety_rope": N_("safety rope"),
    "gas_detector": N_("gas detector"),
    "ventilator": N_("ventilator"),
    "explosion_proof_lamp": N_("explosion-proof lamp"),
    "intercom": N_("intercom"),
    "helmet": N_("safety helmet"),
    "protective_clothing": N_("protective clothing"),
}

# Special-operation certificates (``Certificate.type``).
CERTIFICATE_TYPES: dict[str, str] = {
    # The code the hot-work rule reads (permits/data/hot_work/rules.toml): one code a
    # certificate, or one the form offers would never reach its rule.
    "hot_work": N_("welding and hot cutting"),
    "electrician": N_("electrician work"),
    "working_at_height": N_("work at height"),
    "hazardous_chemicals": N_("hazardous chemicals safety work"),
    "refrigeration": N_("refrigeration and air-conditioning work"),
    "confined_space": N_("confined-space work"),
}

# Sample points as the demo and most ledgers name them; others are shown as entered.
SAMPLE_POINTS: dict[str, str] = {
    "top": N_("top"),
    "middle": N_("middle"),
    "bottom": N_("bottom"),
    "inlet": N_("inlet"),
    "outlet": N_("outlet"),
}

# A hazard's clause: the page's form stores ``MEM10-13-1``, the server's automatic
# findings ``MEM10 Art. 13 (一)``; both read as one Chinese citation.
HAZARD_CATEGORIES: dict[str, str] = {
    "MEM10-13-1": N_("MEM Order No. 10, Art. 13 (1): no ledger entry or warning sign"),
    "MEM10 Art. 13 (一)": N_("MEM Order No. 10, Art. 13 (1): no ledger entry or warning sign"),
    "MEM10-13-2": N_(
        "MEM Order No. 10, Art. 13 (2): work without approval, ventilation, test or guardian"
    ),
    "MEM10_13_2": N_(
        "MEM Order No. 10, Art. 13 (2): work without approval, ventilation, test or guardian"
    ),
    "MEM10 Art. 13 (二)": N_(
        "MEM Order No. 10, Art. 13 (2): work without approval, ventilation, test or guardian"
    ),
    "GB 30871-2022 §5": N_("GB 30871-2022, clause 5 (hot work)"),
}

# What the server's replay and ledger check found on a permit (its anomaly codes).
ANOMALY_CODES: dict[str, str] = {
    "ALARM_RAISED": N_("gas alarm"),
    "EVACUATION_ORDERED": N_("evacuation ordered"),
    "ATMOSPHERE_NO_TEST": N_("no gas test"),
    "ENTRANT_NOT_BRIEFED": N_("entrant not briefed"),
    "ENTRY_WITHOUT_APPROVAL": N_("entry without approval"),
    "ENTRY_WITHOUT_GUARDIAN": N_("entry without a guardian"),
    "ENTRY_WITHOUT_PASSING_TEST": N_("entry without a passing gas test"),
    "ENTRY_WITHOUT_VENTILATION": N_("entry without ventilation"),
    "EQUIPMENT_NOT_CONFIRMED": N_("equipment not confirmed"),
    "GUARDIAN_NOT_ON_DUTY": N_("guardian not on duty"),
    "ISOLATION_NOT_APPLIED": N_("isolation not applied"),
    "PERMIT_NOT_APPROVED": N_("permit not approved"),
    "RETEST_DUE_OVERDUE": N_("gas re-test overdue"),
    "MONITORING_REQUIRED_OVERDUE": N_("continuous monitoring overdue"),
    "MANUAL_ATMOSPHERE_ENTRY": N_("gas readings typed in by hand"),
    "RECORDED_VERDICT_DIFFERS": N_("tablet's verdict differs from the server's"),
    "VENTILATION_NOT_STARTED": N_("ventilation not started"),
    "RULE_VIOLATION": N_("rule broken"),
    "CLOCK_AHEAD": N_("tablet clock ahead"),
    "CLOCK_BACKWARDS": N_("tablet clock went backwards"),
    "VERSION_CONFLICT": N_("conflicting versions"),
    "CHAIN_TRUNCATED": N_("record cut short"),
    "HOT_WORK_WITHOUT_PASSING_ANALYSIS": N_("fire without a passing gas analysis"),
    "HOT_WORK_WITHOUT_FIRE_WATCHER": N_("fire without a fire watcher"),
    "HOT_WORK_OUTSIDE_VALIDITY": N_("fire outside the permit's validity"),
    "HOT_WORK_LINK_MISMATCH": N_("linked permit does not match"),
    "CONFLICT_LIMIT": N_("too many conflicting versions"),
    # The chain verification's first failure (``permits.integrity``).
    "BAD_HASH": N_("altered after it was sealed"),
    "BAD_PREV_HASH": N_("link to the event before broken"),
    "BAD_SIGNATURE": N_("tablet signature invalid"),
    "CHAIN_GAP": N_("events missing"),
    "UNKNOWN_DEVICE": N_("signed by a tablet not enrolled here"),
}

# Topic trainings (``TopicTraining.topic``).
TOPICS: dict[str, str] = {
    "confined_space": N_("confined-space work safety"),
    "hot_work": N_("hot-work safety"),
    "emergency_rescue": N_("emergency rescue"),
    "gas_detection": N_("gas detection"),
    "ppe": N_("personal protective equipment"),
    "lockout_tagout": N_("lockout-tagout"),
}

# Who did a step when no person did: the server's own checks.
SYSTEM_ACTORS: dict[str, str] = {
    "server-replay": N_("the server's rule check"),
    "server-ledger-check": N_("the server's ledger check"),
    "cli": N_("the server's command line"),
    "public-report": N_("a report from the public QR page (码上查)"),
}

# Every table a stored code may come from, for ``words``: a code inside a sentence
# (the core's "not confirmed on site: breathing_apparatus") is replaced by its words.
_WORD_TABLES = (EQUIPMENT, HAZARD_FACTORS, CERTIFICATE_TYPES, ROLES, PERMIT_STATUSES)
# A one-word code ("harness", "tripod") is replaced only from the equipment and hazard
# tables: "active" or "closed" in someone's own text stays as they wrote it.
_ONE_WORD_TABLES = (EQUIPMENT, HAZARD_FACTORS)
_CODE_TOKEN = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?![\w-])")


def words(text: str | None, _: Gettext, names: dict[str, str] | None = None) -> str:
    """``text`` with every stored code it holds (snake_case, e.g. ``O2_deficiency``)
    replaced by its words in the reader's language, and every person id of ``names``
    (the core's messages name people by id) by the person's name."""
    if not text:
        return ""

    def one(match: re.Match[str]) -> str:
        code = match.group(0)
        for table in _WORD_TABLES if "_" in code else _ONE_WORD_TABLES:
            if code in table:
                return _(table[code])
        return code

    text = _CODE_TOKEN.sub(one, text)
    if names:
        ids = "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
        text = re.sub(rf"(?<![\w-])(?:{ids})(?![\w-])", lambda m: names[m.group(0)], text)
    return text


def hazard_text(
    source: str | None, text: str | None, _: Gettext, names: dict[str, str] | None = None
) -> str:
    """A hazard's title or description as shown: the server's own (an automatic finding,
    written from the core's message, which names codes and people by id) in words; what a
    person typed (an inspection, a worker's report) exactly as they typed it."""
    if source == "automatic":
        return words(text, _, names)
    return text or ""


def labels(table: dict[str, str], codes: list[str] | tuple[str, ...] | None, _: Gettext) -> str:
    """Several codes of one table in words, joined the Chinese way (、)."""
    return "、".join(label(table, c, _) for c in codes or ())


CHANNEL_UNITS = {"O2": "%VOL", "LEL": "%LEL"}


# A recorded fact that differs from the ledger at that time (permits.ledger_check): the
# prefix and the rule's code, one label for all of them.
LEDGER_MISMATCH_PREFIX = MISMATCH_PREFIX  # permits.ledger_check's


def anomaly(code: str | None, _: Gettext) -> str:
    """An anomaly or finding code in words: ``ANOMALY_CODES``, every ledger mismatch, and
    for any other rule's code a word, never the code (its finding's message says which)."""
    if code is None:
        return ""
    if code in ANOMALY_CODES:
        return label(ANOMALY_CODES, code, _)
    if code.startswith(LEDGER_MISMATCH_PREFIX):
        return _(N_("recorded differently from the ledger"))
    return _(N_("rule broken"))


def space_terms(codes: list[str] | tuple[str, ...] | None, _: Gettext) -> list[str]:
    """A space's hazards, PPE and rescue equipment in words (the warning card, the
    public page); a code of the enterprise's own stays as entered."""
    return [
        label(HAZARD_FACTORS, c, _) if c in HAZARD_FACTORS else label(EQUIPMENT, c, _)
        for c in codes or ()
    ]


def linked_difference(
    difference: dict[str, Any], _: Gettext, spaces: dict[str, str]
) -> dict[str, str]:
    """One field of a hot work's linked-permit mismatch in words: the field, what the
    tablet recorded and what the server's chain says (a status, a type, a space's name,
    an event by its number)."""
    field = str(difference.get("field") or "")

    def shown(value: Any) -> str:
        if value is None:
            return _(N_("none"))
        text = str(value)
        if field == "status":  # "none": the chain held no event yet at the time
            return _(N_("no event yet")) if text == "none" else label(PERMIT_STATUSES, text, _)
        if field == "permit_type":
            return label(PERMIT_TYPES, text, _)
        if field == "space_id":
            return spaces.get(text, text)
        if field == "head_hash":
            seq, _sep, digest = text.partition(":")
            return _(N_("event {n} (hash {hash}…)")).format(n=seq, hash=digest[:8])
        return text

    return {
        "field": label(LINKED_PERMIT_FIELDS, field, _) if field else "",
        "recorded": shown(difference.get("recorded")),
        "server": shown(difference.get("server")),
    }


def label(table: dict[str, str], code: str | None, _: Gettext) -> str:
    if code is None:
        return ""
    msgid = table.get(code)
    return _(msgid) if msgid else code


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, TypeError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def local_time(value: str | datetime | None, seconds: bool = True) -> str:
    """Beijing time, e.g. ``2026-11-28 06:51:30``; the empty string for no time.

    Overflow-safe: a stored time at the edge of the calendar (9999-12-31T23:00Z is year
    10000 in Beijing) is shown as stored, in UTC, never an OverflowError that turned every
    page showing it into a 500 (docs/reliability.md, section 8)."""
    at = parse_time(value) if isinstance(value, str) or value is None else value
    if at is None:
        return value if isinstance(value, str) else ""
    try:
        return _shown(at.astimezone(BEIJING), seconds)
    except (OverflowError, ValueError):
        return _shown(at, seconds) + " UTC" if at.utcoffset() == timedelta(0) else at.isoformat()


def _shown(at: datetime, seconds: bool) -> str:
    # Not strftime: its %Y drops the zeros of years before 1000 on glibc.
    text = f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"
    return text + f":{at.second:02d}" if seconds else text
