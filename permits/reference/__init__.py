"""Reference data: enterprises, people, contractors, the confined-space ledger,
drills and training, detectors. Pure pydantic models and checks.

Errors are the core's: :class:`~permits.errors.InvalidInput` for bad fields;
eligibility checks return :class:`~permits.errors.Unmet` lists.
"""

from permits.reference.delegation import Delegation
from permits.reference.detectors import BumpTest, Detector
from permits.reference.enterprise import Enterprise
from permits.reference.parsing import parse_reference
from permits.reference.people import (
    Certificate,
    Contractor,
    Employer,
    Person,
    Role,
    TrainingRecord,
    hash_pin,
    roster_eligibility,
    verify_pin,
)
from permits.reference.rules import reference_rules
from permits.reference.spaces import (
    ConfinedSpace,
    FourLists,
    IsolationKind,
    IsolationPoint,
    SpaceType,
)
from permits.reference.training import EmergencyDrill, TopicTraining, latest_overdue
from permits.reference.uscc import is_valid_uscc, uscc_check_char, validate_uscc

__all__ = [
    "BumpTest",
    "Certificate",
    "ConfinedSpace",
    "Contractor",
    "Delegation",
    "Detector",
    "EmergencyDrill",
    "Employer",
    "Enterprise",
    "FourLists",
    "IsolationKind",
    "IsolationPoint",
    "Person",
    "Role",
    "SpaceType",
    "TopicTraining",
    "TrainingRecord",
    "hash_pin",
    "is_valid_uscc",
    "latest_overdue",
    "parse_reference",
    "reference_rules",
    "roster_eligibility",
    "uscc_check_char",
    "validate_uscc",
    "verify_pin",
]
