"""The allowed values of the ledger's choice fields, each with its name (an English msgid;
zh_CN through gettext). Closed lists take their codes from the core's enums, so a value
the core adds without a name here fails ``tests/sync_server/test_ledger_catalogue.py``;
open lists (hazards, topics, certificate types, protocols, PPE) suggest the values the
rules and the drivers know, and the core takes any text there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import get_args

from permits.readings import Channel
from permits.reference import Employer, IsolationKind, IsolationPoint, Role, SpaceType

# One owner of a code's words (the pages, the trace, the public page read the same).
from sync_server.labels import (
    CERTIFICATE_TYPES,
    EQUIPMENT,
    ROLES,
    SAMPLE_POINTS,
    TOPICS,
)
from sync_server.labels import HAZARD_FACTORS as HAZARDS


def N_(message: str) -> str:
    """Mark a string for translation without translating it now."""
    return message


@dataclass(frozen=True)
class Choice:
    code: str
    label: str  # English msgid


def _closed(codes: Iterable[str], names: dict[str, str]) -> tuple[Choice, ...]:
    # A code the core knows without a name is shown as the code itself; the catalogue
    # test fails on it, so it never reaches a release.
    return tuple(Choice(c, names.get(c, c)) for c in codes)


def _open(names: dict[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(c, n) for c, n in names.items())


SPACE_TYPES = {
    "closed_equipment": N_("closed equipment (tank, vessel, silo)"),
    "underground": N_("underground confined space (pit, sewer, well)"),
    "above_ground": N_("above-ground confined space (pool, bin)"),
}

GASES = {
    "O2": N_("oxygen (O2)"),
    "LEL": N_("flammable gas (LEL)"),
    "CH4": N_("methane (CH4)"),
    "H2": N_("hydrogen (H2)"),
    "C3H8": N_("propane (C3H8)"),
    "H2S": N_("hydrogen sulphide (H2S)"),
    "CO": N_("carbon monoxide (CO)"),
    "CO2": N_("carbon dioxide (CO2)"),
    "NH3": N_("ammonia (NH3)"),
    "Cl2": N_("chlorine (Cl2)"),
    "SO2": N_("sulphur dioxide (SO2)"),
    "NO2": N_("nitrogen dioxide (NO2)"),
}

# The hazard factors of a space (GB/T confined-space guidance: poisoning, oxygen
# deficiency, fire and explosion, and the others); a gas code names its poisoning risk,
# which the key-supervision rule reads (permits/data/reference.toml).

ISOLATION_METHODS = {
    "blind_flange": N_("blind flange"),
    "removed_pipe_section": N_("pipe section removed"),
    "closed_valve": N_("closed valve"),
    "water_seal": N_("water seal"),
    "electrical_lockout": N_("electrical lockout"),
    "mechanical_block": N_("mechanical block"),
    "other": N_("other"),
}

ENERGIES = {
    "pipe": N_("pipe (material or gas)"),
    "electrical": N_("electrical"),
    "mechanical": N_("mechanical"),
    "other": N_("other"),
}


EMPLOYERS = {
    "enterprise": N_("this enterprise"),
    "contractor": N_("a contractor"),
}


# Special-operation certificates (特种作业操作证) and others a rule may ask for; the
# hot-work rule asks for ``hot_work`` (permits/data/hot_work/rules.toml).

# The detector protocols the drivers speak (docs/protocols.md).
PROTOCOLS = {
    "gasl": N_("GASL text protocol (serial or BLE)"),
    "winsen-uart": N_("Winsen UART (serial)"),
    "ess": N_("BLE environmental sensing service"),
    "modbus-gt4": N_("Modbus RTU, GT4 detectors"),
}

BUMP_RESULTS = {
    "true": N_("passed"),
    "false": N_("failed"),
}

# the ledger's PPE and rescue lists, in the words of sync_server/labels.py's EQUIPMENT
PPE = {
    c: EQUIPMENT[c]
    for c in (
        "breathing_apparatus",
        "supplied_air_respirator",
        "harness",
        "safety_helmet",
        "anti_static_clothing",
        "protective_gloves",
    )
}

RESCUE = {
    c: EQUIPMENT[c]
    for c in ("tripod", "winch", "breathing_apparatus", "stretcher", "first_aid_kit", "lifeline")
}


def _literal(model: type, name: str) -> tuple[str, ...]:
    return tuple(get_args(model.model_fields[name].annotation))  # type: ignore[attr-defined]


CHOICES: dict[str, tuple[Choice, ...]] = {
    "space_types": _closed((s.value for s in SpaceType), SPACE_TYPES),
    "gases": _closed((c.value for c in Channel), GASES),
    "hazards": _open(HAZARDS),
    "isolation_methods": _closed((k.value for k in IsolationKind), ISOLATION_METHODS),
    "energies": _closed(_literal(IsolationPoint, "energy"), ENERGIES),
    "roles": _closed((r.value for r in Role), ROLES),
    "employers": _closed(_literal(Employer, "kind"), EMPLOYERS),
    "topics": _open(TOPICS),
    "certificate_types": _open(CERTIFICATE_TYPES),
    "protocols": _open(PROTOCOLS),
    "bump_results": _closed(("true", "false"), BUMP_RESULTS),
    "ppe": _open(PPE),
    "rescue": _open(RESCUE),
    # the points most ledgers name (上部/中部/下部…); a space may name its own
    "sample_points": _open(SAMPLE_POINTS),
}

PROFILE_NAMES = {
    "cn-gb30871-2022": N_("GB 30871-2022 (hazardous chemicals enterprises)"),
    "cn-gongmao": N_("industry and trade enterprises (MEM Order 13)"),
    "us-osha-1910.146": N_("US OSHA 29 CFR 1910.146"),
}


def profile_choices(names: Iterable[str]) -> tuple[Choice, ...]:
    return _closed(names, PROFILE_NAMES)


# The name of each list, for the workbook's sheet of allowed values.
LIST_NAMES = {
    "space_types": N_("space types"),
    "gases": N_("gases"),
    "hazards": N_("hazard factors"),
    "isolation_methods": N_("isolation methods"),
    "energies": N_("energy"),
    "roles": N_("roles"),
    "employers": N_("employer"),
    "topics": N_("training topics"),
    "certificate_types": N_("certificate types"),
    "protocols": N_("protocol"),
    "bump_results": N_("bump test results"),
    "ppe": N_("personal protective equipment"),
    "rescue": N_("rescue equipment"),
    "sample_points": N_("sample points"),
    "profiles": N_("atmosphere profile"),
}
