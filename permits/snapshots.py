"""Snapshots: what the enterprise's ledger knew, as a permit's events record it.

A permit carries these (the space, the people with their training, certificates,
contractor and written delegation, the detector) so its chain is judged years later
with no outside lookups, by the same rules on the tablet and in the server's replay
(docs/rules.md, Every ledger fact reaches its rule). Part of the event schema: import
them from :mod:`permits.events`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from permits.plausible import Day, Instant, PlausibleTimes
from permits.reference.rules import requires_principal_approval

__all__ = [
    "ApprovalAuthority",
    "Certificate",
    "ContractorSnapshot",
    "DelegationSnapshot",
    "DetectorIdentity",
    "Id",
    "IsolationKind",
    "IsolationPointTemplate",
    "PersonSnapshot",
    "SpaceSnapshot",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Model(PlausibleTimes):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Certificate(_Model):
    kind: Id  # e.g. "hot_work" (焊接与热切割作业), "electrician"
    number: str = ""
    valid_until: Day


class ApprovalAuthority(StrEnum):
    NONE = "none"
    APPROVER = "approver"  # may approve ordinary spaces
    PRINCIPAL = "principal"  # 主要负责人
    DELEGATE = "delegate"  # written delegate of the principal (MEM13 Art. 7)


class ContractorSnapshot(_Model):
    """The person's employer contractor (承包商) as the tablet's ledger had it; the
    roster rule judges it on the assignment's date (``permits.reference.people``)."""

    contractor_id: Id
    name: str
    contract_reference: str = ""
    contract_valid_from: Day | None = None
    contract_valid_until: Day | None = None
    blacklisted_on: Day | None = None
    blacklist_reason: str = ""
    # False: the person's employer is a contractor the ledger does not know (only the
    # id is recorded). A chain without any snapshot predates this and is not judged.
    registered: bool = True


class DelegationSnapshot(_Model):
    """The principal's written delegation to this approver (MEM13 Art. 7), as the
    tablet's ledger had it; the approval rule judges it (``permits.reference.delegation``)."""

    delegation_id: Id
    delegator: Id  # the principal's person id
    space_ids: tuple[str, ...] = ()  # empty: every space
    valid_from: Day
    valid_until: Day
    document_ref: str = ""


class PersonSnapshot(_Model):
    """A person as the ledger knew them when the role was assigned."""

    person_id: Id
    name: str
    employer_id: Id
    contractor_id: Id | None = None
    # Kept for chains written before the contractor snapshot; new chains carry ``contractor``.
    contractor_blacklisted: bool = False
    training_valid_until: Day | None = None
    certificates: tuple[Certificate, ...] = ()
    approval_authority: ApprovalAuthority = ApprovalAuthority.NONE
    delegation_ref: str | None = None  # the written delegation's reference
    contractor: ContractorSnapshot | None = None
    delegation: DelegationSnapshot | None = None


class IsolationKind(StrEnum):
    ELECTRICAL = "electrical"
    PIPE = "pipe"
    MECHANICAL = "mechanical"
    OTHER = "other"


class IsolationPointTemplate(_Model):
    point_id: Id
    description: str = ""
    kind: IsolationKind
    # A pipe that connects to a hazardous source needs a blind or a removed section.
    hazardous_source: bool = False


class SpaceSnapshot(_Model):
    space_id: Id
    name: str
    required_channels: tuple[str, ...] = Field(min_length=1)
    sample_points: tuple[str, ...] = Field(min_length=1)
    isolation_points: tuple[IsolationPointTemplate, ...] = ()
    required_ppe: tuple[str, ...] = ()
    rescue_items: tuple[str, ...] = ()
    key_supervision: bool = False  # on the MEM key-supervision list (H2S, CO, CO2)
    oxygen_enriched: bool = False
    # The resolved profile: the space's, else the enterprise's default, else cn-gongmao.
    profile: Id = "cn-gongmao"
    hazards: tuple[str, ...] = ()  # the ledger's hazards of the space (H2S, CO, ...)
    # The enterprise's stricter override of ``profile`` (TOML shape, ``permits.profiles``);
    # the rules and the replay judge with it applied.
    profile_override: dict[str, Any] | None = None

    @property
    def requires_principal_approval(self) -> bool:
        """MEM13 Art. 7, derived as the ledger derives it (flag, hazards or channels)."""
        return requires_principal_approval(
            self.key_supervision, self.hazards, self.required_channels
        )


class DetectorIdentity(_Model):
    serial: Id
    model: str = ""
    calibration_due: Day | None = None
    last_bump_test: Instant | None = None
