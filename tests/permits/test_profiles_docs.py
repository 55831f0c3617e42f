"""docs/rules.md states the same figures as the profile and gas data."""

from __future__ import annotations

from pathlib import Path

from permits.atmosphere import REASON_CODES
from permits.gases import gases, molar_volume
from permits.monitoring import ALARM_CODES, WARNING_CODES
from permits.profiles import list_profiles, load_profile

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text("utf-8")


def _fmt(value: float) -> str:
    return f"{value:g}"


def test_every_profile_and_code_is_documented() -> None:
    for name in list_profiles():
        assert f"`{name}`" in DOC
    for code in {*REASON_CODES, *ALARM_CODES, *WARNING_CODES}:
        assert f"`{code}`" in DOC, code


def test_profile_figures_appear() -> None:
    for name in list_profiles():
        p = load_profile(name)
        for figure in (p.oxygen.min_vol, p.oxygen.max_vol, p.oxygen.max_vol_enriched):
            assert f"{figure:.1f}" in DOC
        assert f"{_fmt(p.test_max_age.total_seconds() / 60)} min" in DOC
        assert f"{_fmt(p.permit_validity.total_seconds() / 3600)} h" in DOC
        assert f"{_fmt(p.monitoring.stale_after_s)} s" in DOC


def test_gas_table_appears() -> None:
    assert _fmt(molar_volume()) in DOC
    for gas in gases().values():
        if gas.formula == "O2":
            continue
        row = next(line for line in DOC.splitlines() if line.startswith(f"| {gas.formula} |"))
        assert _fmt(gas.molecular_weight) in row
        for figure in (
            gas.lel_vol,
            gas.mac_mg_m3,
            gas.pc_twa_mg_m3,
            gas.pc_stel_mg_m3,
            gas.osha_pel_ppm,
        ):
            if figure is not None:
                assert _fmt(figure) in row, (gas.formula, figure)
