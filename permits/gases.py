"""The gas table: molecular weights, lower explosive limits and exposure limits.

All figures live in ``permits/data/gases.toml`` with their sources; this module
only loads and validates them.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from permits.errors import ProfileError

DATA_DIR = Path(__file__).parent / "data"
GASES_FILE = DATA_DIR / "gases.toml"


class GasClass(StrEnum):
    OXYGEN = "oxygen"
    FLAMMABLE = "flammable"
    TOXIC = "toxic"


class Gas(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    formula: str
    name_zh: str
    classes: frozenset[GasClass]
    molecular_weight: float = Field(gt=0)
    lel_vol: float | None = Field(default=None, gt=0, le=100)
    mac_mg_m3: float | None = Field(default=None, gt=0)
    pc_twa_mg_m3: float | None = Field(default=None, gt=0)
    pc_stel_mg_m3: float | None = Field(default=None, gt=0)
    osha_pel_ppm: float | None = Field(default=None, gt=0)
    osha_pel_ceiling: bool = False
    source: str

    @property
    def flammable(self) -> bool:
        return GasClass.FLAMMABLE in self.classes

    @property
    def toxic(self) -> bool:
        return GasClass.TOXIC in self.classes

    @property
    def gbz_entry_limit_mg_m3(self) -> float | None:
        """MAC where the gas has one, otherwise PC-TWA (docs/rules.md, Gases and units)."""
        return self.mac_mg_m3 if self.mac_mg_m3 is not None else self.pc_twa_mg_m3


class GasTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    molar_volume_l_per_mol: float = Field(gt=0)
    molar_volume_source: str
    sources: dict[str, str]
    gases: dict[str, Gas]


def _read_table(path: Path) -> GasTable:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        gases = {
            formula: Gas(formula=formula, **entry)
            for formula, entry in raw.get("gases", {}).items()
        }
        table = GasTable(
            molar_volume_l_per_mol=raw["conversion"]["molar_volume_l_per_mol"],
            molar_volume_source=raw["conversion"]["source"],
            sources=raw.get("sources", {}),
            gases=gases,
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise ProfileError(f"gas table {path} is not valid: {exc}") from exc
    for gas in table.gases.values():
        # A toxic gas without any limit would silently pass every test: refuse the data.
        if gas.toxic and (gas.gbz_entry_limit_mg_m3 is None or gas.osha_pel_ppm is None):
            raise ProfileError(f"gas table {path}: toxic gas {gas.formula} has no limit")
        if gas.flammable and gas.lel_vol is None:
            raise ProfileError(f"gas table {path}: flammable gas {gas.formula} has no LEL")
    return table


@cache
def gas_table() -> GasTable:
    return _read_table(GASES_FILE)


def molar_volume() -> float:
    """Litres per mole at 20 °C and 101.325 kPa (data, with its source)."""
    return gas_table().molar_volume_l_per_mol


def gases() -> MappingProxyType[str, Gas]:
    return MappingProxyType(gas_table().gases)


def get_gas(formula: str) -> Gas | None:
    return gas_table().gases.get(formula)


def lel_table() -> dict[str, float]:
    """Lower explosive limits in %VOL of every flammable gas in the table."""
    return {name: gas.lel_vol for name, gas in gas_table().gases.items() if gas.lel_vol is not None}
