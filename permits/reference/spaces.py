"""The confined-space ledger (有限空间台账): one entry per space (docs/architecture.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from permits.errors import Unmet
from permits.messages import register
from permits.profiles import list_profiles
from permits.readings import Channel
from permits.reference.rules import poisoning_risk, reference_rules, requires_principal_approval

_Id = Annotated[str, Field(min_length=1)]


class SpaceType(StrEnum):
    CLOSED_EQUIPMENT = "closed_equipment"  # 密闭设备: tanks, vessels, silos
    UNDERGROUND = "underground"  # 地下有限空间: pits, sewers, wells
    ABOVE_GROUND = "above_ground"  # 地上有限空间: fermentation pools, grain bins


class IsolationKind(StrEnum):
    BLIND_FLANGE = "blind_flange"  # 盲板
    REMOVED_PIPE_SECTION = "removed_pipe_section"  # 拆除管段
    CLOSED_VALVE = "closed_valve"  # 关闭阀门
    WATER_SEAL = "water_seal"  # 水封
    ELECTRICAL_LOCKOUT = "electrical_lockout"  # 断电上锁
    MECHANICAL_BLOCK = "mechanical_block"  # 机械锁定
    OTHER = "other"

    @property
    def accepted_as_sole_pipe_isolation(self) -> bool:
        return self.value in reference_rules().isolation.sole_pipe_isolation


class IsolationPoint(BaseModel):
    """One point of the space's isolation template, applied and verified per permit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    description: _Id
    kind: IsolationKind
    energy: Literal["pipe", "electrical", "mechanical", "other"]
    # A pipe to a hazardous source must be isolated positively (docs/rules.md, isolation).
    hazardous_source: bool = False


class FourLists(BaseModel):
    """The 4张清单: basic information, responsible person, control measures,
    on-site emergency response plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    basic_information: tuple[str, ...] = ()
    responsible_persons: tuple[str, ...] = ()
    control_measures: tuple[str, ...] = ()
    emergency_response: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        return [name for name, items in self if not items]


LEDGER_NO_WARNING_SIGN = "LEDGER_NO_WARNING_SIGN"
LEDGER_LIST_MISSING = "LEDGER_LIST_MISSING"
LEDGER_WEAK_PIPE_ISOLATION = "LEDGER_WEAK_PIPE_ISOLATION"
LEDGER_NO_OXYGEN_CHANNEL = "LEDGER_NO_OXYGEN_CHANNEL"


class ConfinedSpace(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    enterprise_id: _Id
    name: _Id
    location: _Id
    type: SpaceType
    hazards: tuple[str, ...] = ()  # e.g. "H2S", "CO", "O2_deficiency", "engulfment"
    required_channels: Annotated[tuple[Channel, ...], Field(min_length=1)]
    sample_points: Annotated[tuple[_Id, ...], Field(min_length=1)]
    isolation_points: tuple[IsolationPoint, ...] = ()
    required_ppe: tuple[str, ...] = ()
    rescue_equipment: tuple[str, ...] = ()
    key_supervision: bool = False  # on the MEM key-supervision list
    warning_sign_present: bool = False
    four_lists: FourLists = FourLists()
    # Oxygen may be added to the space's atmosphere (GB 30871 §6.4: a higher O2 bound).
    oxygen_enriched: bool = False
    # The atmosphere profile of this space's permits; None: the enterprise's default
    # (docs/rules.md, Profiles: which profile a permit runs).
    profile: str | None = None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in list_profiles():
            raise ValueError(f"expected one of {', '.join(list_profiles())}")
        return value

    @model_validator(mode="after")
    def _unique(self) -> ConfinedSpace:
        if len(set(self.sample_points)) != len(self.sample_points):
            raise ValueError("sample_points must be unique")
        ids = [p.id for p in self.isolation_points]
        if len(set(ids)) != len(ids):
            raise ValueError("isolation point ids must be unique")
        return self

    @property
    def poisoning_risk(self) -> bool:
        return poisoning_risk(self.hazards, (c.value for c in self.required_channels))

    @property
    def requires_principal_approval(self) -> bool:
        """MEM13 Art. 7 (see :func:`permits.reference.rules.requires_principal_approval`)."""
        return requires_principal_approval(
            self.key_supervision, self.hazards, (c.value for c in self.required_channels)
        )

    def ledger_gaps(self) -> list[Unmet]:
        """What the ledger entry lacks; a missing warning sign is MEM10 Art. 13 (一)
        material when the space is also missing from the ledger."""
        gaps: list[Unmet] = []
        if not self.warning_sign_present:
            gaps.append(Unmet(LEDGER_NO_WARNING_SIGN, {"space": self.id}))
        for name in self.four_lists.missing():
            gaps.append(Unmet(LEDGER_LIST_MISSING, {"space": self.id, "list": name}))
        if Channel.O2 not in self.required_channels:
            gaps.append(Unmet(LEDGER_NO_OXYGEN_CHANNEL, {"space": self.id}))
        pipes = [p for p in self.isolation_points if p.energy == "pipe" and p.hazardous_source]
        if pipes and not any(p.kind.accepted_as_sole_pipe_isolation for p in pipes):
            for point in pipes:
                gaps.append(
                    Unmet(
                        LEDGER_WEAK_PIPE_ISOLATION,
                        {"space": self.id, "point": point.id, "kind": point.kind.value},
                    )
                )
        return gaps


register(
    LEDGER_NO_WARNING_SIGN,
    "Space {space} has no warning sign recorded",
    "Put up a clear confined-space warning sign and record it in the ledger",
)
register(
    LEDGER_LIST_MISSING,
    "Space {space} lacks its {list} list (4张清单)",
    "Complete the {list} list of the space in the ledger",
)
register(
    LEDGER_WEAK_PIPE_ISOLATION,
    "Pipe isolation {point} of space {space} is a {kind}, which is not a positive isolation",
    "Isolate the pipe with a blind flange or by removing a pipe section",
)
register(
    LEDGER_NO_OXYGEN_CHANNEL,
    "Space {space} does not require an oxygen reading",
    "Add O2 to the space's required channels",
)
