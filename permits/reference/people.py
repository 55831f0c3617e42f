"""People, their training and certificates, PINs, and contractors.

A PIN is never stored: only its Argon2id hash in PHC form (random salt).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from permits.errors import InvalidInput, Unmet
from permits.i18n import gettext as _
from permits.messages import register
from permits.reference.rules import add_months, reference_rules
from permits.reference.uscc import validate_uscc

_Id = Annotated[str, Field(min_length=1)]

# Argon2id cost: OWASP's minimum recommendation (19 MiB, 2 passes, 1 lane),
# chosen so a PIN check stays quick on a low-end tablet.
_ARGON2_MEMORY_KIB = 19_456
_ARGON2_ITERATIONS = 2
_ARGON2_LANES = 1
_ARGON2_LENGTH = 32
_SALT_BYTES = 16
PIN_DIGITS = (4, 12)  # a PIN's length bounds; the sign-on slip and keypad show them


class Role(StrEnum):
    PRINCIPAL = "principal"  # 主要负责人
    APPROVER = "approver"  # 审批人
    WORK_LEADER = "work_leader"  # 作业负责人
    GUARDIAN = "guardian"  # 监护人
    ENTRANT = "entrant"  # 作业人员
    SAFETY_MANAGER = "safety_manager"
    RESCUER = "rescuer"


class Employer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["enterprise", "contractor"]
    id: _Id


class TrainingRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: _Id = "confined_space"
    completed_on: date
    valid_until: date
    provider: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> TrainingRecord:
        if self.valid_until < self.completed_on:
            raise ValueError("valid_until is before completed_on")
        return self

    @property
    def effective_until(self) -> date:
        """``valid_until``, but never later than the annual interval allows."""
        rules = reference_rules().training
        return min(self.valid_until, add_months(self.completed_on, rules.max_interval_months))

    def valid_on(self, day: date) -> bool:
        return self.completed_on <= day <= self.effective_until


class Certificate(BaseModel):
    """A special-operation or other certificate (特种作业操作证 ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: _Id  # e.g. "hot_work" (焊接与热切割作业, the hot-work rule reads it)
    number: _Id
    issued_on: date
    expires_on: date

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day <= self.expires_on


def _check_pin(pin: str) -> bytes:
    low, high = PIN_DIGITS
    if (
        not isinstance(pin, str)
        or not pin.isascii()
        or not pin.isdigit()
        or not low <= len(pin) <= high
    ):
        raise InvalidInput("pin", _("{low} to {high} digits").format(low=low, high=high), None)
    return pin.encode("ascii")


def hash_pin(pin: str) -> str:
    """Argon2id hash of ``pin`` with a fresh random salt, PHC-encoded."""
    kdf = Argon2id(
        salt=os.urandom(_SALT_BYTES),
        length=_ARGON2_LENGTH,
        iterations=_ARGON2_ITERATIONS,
        lanes=_ARGON2_LANES,
        memory_cost=_ARGON2_MEMORY_KIB,
    )
    return kdf.derive_phc_encoded(_check_pin(pin))


def verify_pin(pin: str, encoded: str | None) -> bool:
    """True only when ``encoded`` is an Argon2id hash of ``pin``; no hash never verifies."""
    if not encoded or not encoded.startswith("$argon2id$"):
        return False
    try:
        material = _check_pin(pin)
    except InvalidInput:
        return False
    try:
        Argon2id.verify_phc_encoded(material, encoded)
    except (InvalidKey, ValueError):
        return False
    return True


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    name: _Id
    enterprise_id: _Id  # the enterprise whose site the person works on
    employer: Employer
    roles: frozenset[Role] = frozenset()
    training: tuple[TrainingRecord, ...] = ()
    certificates: tuple[Certificate, ...] = ()
    pin_hash: str | None = Field(default=None, repr=False)

    @field_validator("pin_hash")
    @classmethod
    def _argon2id_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2id$"):
            raise ValueError("expected an Argon2id PHC string, never a plain PIN")
        return value

    @property
    def contractor_id(self) -> str | None:
        return self.employer.id if self.employer.kind == "contractor" else None

    def training_valid(self, day: date, topic: str | None = None) -> bool:
        wanted = topic or reference_rules().training.topic or "confined_space"
        return any(t.topic == wanted and t.valid_on(day) for t in self.training)

    def training_valid_until(self, topic: str | None = None) -> date | None:
        wanted = topic or reference_rules().training.topic or "confined_space"
        return max((t.effective_until for t in self.training if t.topic == wanted), default=None)

    def certificate(self, kind: str, day: date) -> Certificate | None:
        """A certificate of ``kind`` valid on ``day``, if the person holds one."""
        return next((c for c in self.certificates if c.type == kind and c.valid_on(day)), None)

    def with_pin(self, pin: str) -> Person:
        return self.model_copy(update={"pin_hash": hash_pin(pin)})

    def verify_pin(self, pin: str) -> bool:
        return verify_pin(pin, self.pin_hash)


class Contractor(BaseModel):
    """A contractor (承包商) and its contract with the enterprise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    name: _Id
    uscc: str
    contract_reference: _Id
    contract_valid_from: date
    contract_valid_until: date
    blacklisted_on: date | None = None
    blacklist_reason: str = ""

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        try:
            return validate_uscc(value)
        except InvalidInput as exc:
            raise ValueError(exc.expected) from None

    def blacklisted(self, day: date) -> bool:
        return contractor_blacklisted(self, day)

    def contract_valid(self, day: date) -> bool:
        return contract_valid(self, day)


class ContractorFacts(Protocol):
    """What the roster rule reads of a contractor: the ledger's :class:`Contractor`, or
    the permit's ``ContractorSnapshot`` of it (the same rule judges both)."""

    @property
    def name(self) -> str: ...
    @property
    def contract_reference(self) -> str: ...
    @property
    def contract_valid_from(self) -> date | None: ...
    @property
    def contract_valid_until(self) -> date | None: ...
    @property
    def blacklisted_on(self) -> date | None: ...
    @property
    def blacklist_reason(self) -> str: ...


def contractor_blacklisted(contractor: ContractorFacts, day: date) -> bool:
    return contractor.blacklisted_on is not None and contractor.blacklisted_on <= day


def contract_valid(contractor: ContractorFacts, day: date) -> bool:
    """Valid from its first to its last day; a contract without dates is not valid."""
    start, end = contractor.contract_valid_from, contractor.contract_valid_until
    return start is not None and end is not None and start <= day <= end


ROSTER_TRAINING_INVALID = "ROSTER_TRAINING_INVALID"
ROSTER_CONTRACTOR_UNKNOWN = "ROSTER_CONTRACTOR_UNKNOWN"
ROSTER_CONTRACTOR_BLACKLISTED = "ROSTER_CONTRACTOR_BLACKLISTED"
ROSTER_CONTRACT_NOT_VALID = "ROSTER_CONTRACT_NOT_VALID"


def roster_eligibility(
    person: Person,
    contractors: Mapping[str, Contractor] | Iterable[Contractor],
    on_date: date,
) -> list[Unmet]:
    """Every reason ``person`` may not be put on a permit's roster on ``on_date``.

    An empty list means eligible. A contractor's people need the contractor to
    be known, not blacklisted and under a valid contract; everyone needs valid
    confined-space training (MEM13 Art. 9).
    """
    by_id = (
        dict(contractors) if isinstance(contractors, Mapping) else {c.id: c for c in contractors}
    )
    unmet: list[Unmet] = []
    facts = {"person": person.id, "name": person.name, "date": on_date.isoformat()}
    if not person.training_valid(on_date):
        unmet.append(Unmet(ROSTER_TRAINING_INVALID, facts))
    contractor_id = person.contractor_id
    if contractor_id is not None:
        unmet.extend(contractor_unmet(contractor_id, by_id.get(contractor_id), on_date, facts))
    return unmet


def contractor_unmet(
    contractor_id: str,
    contractor: ContractorFacts | None,
    on_date: date,
    facts: Mapping[str, str],
) -> list[Unmet]:
    """Why a person employed by ``contractor_id`` may not be rostered on ``on_date``:
    the contractor unknown (None), blacklisted, or its contract not valid that day.
    ``facts`` name the person (``name``) and the date; the roster rule of a permit
    (:mod:`permits.commands.rules.roster`) calls this with the permit's snapshot."""
    with_contractor = {**facts, "contractor": contractor_id}
    if contractor is None:
        return [Unmet(ROSTER_CONTRACTOR_UNKNOWN, with_contractor)]
    unmet: list[Unmet] = []
    with_contractor["contractor"] = contractor.name
    if contractor_blacklisted(contractor, on_date):
        unmet.append(
            Unmet(
                ROSTER_CONTRACTOR_BLACKLISTED,
                {**with_contractor, "reason": contractor.blacklist_reason or "-"},
            )
        )
    if not contract_valid(contractor, on_date):
        unmet.append(
            Unmet(
                ROSTER_CONTRACT_NOT_VALID,
                {**with_contractor, "contract": contractor.contract_reference or "-"},
            )
        )
    return unmet


register(
    ROSTER_TRAINING_INVALID,
    "{name} has no valid confined-space training on {date}",
    "Train {name} (annual confined-space training) before putting them on a roster",
)
register(
    ROSTER_CONTRACTOR_UNKNOWN,
    "{name}'s employer {contractor} is not a registered contractor",
    "Register the contractor and its contract first",
)
register(
    ROSTER_CONTRACTOR_BLACKLISTED,
    "{name}'s employer {contractor} is blacklisted ({reason})",
    "People of a blacklisted contractor may not be put on a roster",
)
register(
    ROSTER_CONTRACT_NOT_VALID,
    "The contract {contract} of {contractor} is not valid on {date}",
    "Renew or extend the contract before putting its people on a roster",
)
