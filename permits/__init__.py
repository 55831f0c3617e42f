"""cspermit's domain core: permit events and rules, atmosphere profiles, LOTO,
people, spaces, detectors, hazards and integrity. Pure Python: it imports
nothing else of the project and no framework, UI or storage library."""

from permits.errors import (
    IntegrityError,
    InvalidInput,
    PermitError,
    ProfileError,
    RuleViolation,
    Unmet,
    VersionConflict,
)
from permits.readings import Channel, Reading, StatusFlag, Unit

__all__ = [
    "Channel",
    "IntegrityError",
    "InvalidInput",
    "PermitError",
    "ProfileError",
    "Reading",
    "RuleViolation",
    "StatusFlag",
    "Unit",
    "Unmet",
    "VersionConflict",
]
