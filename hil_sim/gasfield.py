"""The gas-field model: one well-mixed zone per sample point, stacked by height.

Per step (operator splitting, each part conserving or exactly accounting mass):

1. sources release pure gas into their zone (bottom for a gas heavier than air,
   top for a lighter one, unless the scenario says where);
2. transport between neighbouring zones: symmetric turbulent exchange plus a
   buoyant drift of each gas towards the bottom (heavier than air) or the top
   (lighter), proportional to its relative density difference;
3. ventilation replaces air at ``ach`` air changes per hour with fresh air, so
   with no sources every gas decays as ``exp(-ach * t / 3600)`` exactly.

Amounts are kept in m³ of pure gas; concentrations are ppm by volume. Oxygen is
not a tracked gas: it is the fresh-air oxygen scaled by what the other gases
(including excess nitrogen) leave of the volume. The model has no randomness,
so it is deterministic; detector noise is added by the devices from the seed.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hil_sim.scenario import Scenario, Source, Space, VentilationStep
from permits.gases import get_gas

PPM = 1e-6
_PHYSICS = Path(__file__).parent / "data" / "physics.toml"


@dataclass(frozen=True)
class Physics:
    air_molecular_weight: float
    o2_fresh_vol: float
    extra_molecular_weights: dict[str, float]


@cache
def physics() -> Physics:
    raw = tomllib.loads(_PHYSICS.read_text(encoding="utf-8"))
    return Physics(
        air_molecular_weight=raw["air"]["molecular_weight"],
        o2_fresh_vol=raw["air"]["o2_fresh_vol"],
        extra_molecular_weights={k: v["molecular_weight"] for k, v in raw["extra_gases"].items()},
    )


def molecular_weight(gas: str) -> float:
    entry = get_gas(gas)
    if entry is not None:
        return entry.molecular_weight
    return physics().extra_molecular_weights[gas]


def relative_density(gas: str) -> float:
    """(M_gas − M_air) / M_air: positive sinks, negative rises."""
    air = physics().air_molecular_weight
    return (molecular_weight(gas) - air) / air


class GasField:
    """Concentrations per sample point over scenario time (seconds from the start)."""

    def __init__(
        self,
        space: Space,
        *,
        sources: list[Source] | None = None,
        ventilation: list[VentilationStep] | None = None,
        initial_ppm: dict[tuple[str, str], float] | None = None,
        step_s: float = 1.0,
    ) -> None:
        self.space = space
        self.sources = list(sources or [])
        self.ventilation = sorted(ventilation or [], key=lambda v: v.at_s)
        self.step_s = step_s
        initial_ppm = dict(initial_ppm or {})
        # Zones from the bottom up.
        order = sorted(range(len(space.points)), key=lambda i: space.points[i].height_m)
        self.points = [space.points[i].name for i in order]
        self._zone = {name: i for i, name in enumerate(self.points)}
        shares = [space.points[i].volume_share for i in order]
        n = len(self.points)
        if shares[0] is None:
            self.volumes = np.full(n, space.volume_m3 / n)
        else:
            self.volumes = np.array(shares, dtype=float) * space.volume_m3
        gases = {s.gas for s in self.sources} | {gas for gas, _ in initial_ppm}
        self.gases: tuple[str, ...] = tuple(sorted(gases))
        self._gas = {g: j for j, g in enumerate(self.gases)}
        # amounts[zone, gas] in m³ of pure gas
        self.amounts = np.zeros((n, len(self.gases)))
        for (gas, point), ppm in initial_ppm.items():
            self.amounts[self._zone[point], self._gas[gas]] = (
                ppm * PPM * self.volumes[self._zone[point]]
            )
        self.emitted = np.zeros(len(self.gases))
        self.vented = np.zeros(len(self.gases))
        self.initial_amounts = self.amounts.sum(axis=0).copy()
        self.t = 0.0
        self._transport = self._transport_matrices()
        self._release = [self._release_weights(s) for s in self.sources]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> GasField:
        initial: dict[tuple[str, str], float] = {}
        for init in scenario.initial:
            initial[(init.gas, init.point)] = init.ppm
        return cls(
            scenario.space,
            sources=scenario.sources,
            ventilation=scenario.ventilation,
            initial_ppm=initial,
            step_s=scenario.scenario.step_s,
        )

    # --- model -----------------------------------------------------------------------

    def _transport_matrices(self) -> npt.NDArray[np.float64]:
        """K[gas] such that dA/dt (per hour) = K[gas] @ A[:, gas]; columns sum to zero,
        so transport moves gas between zones and never creates or loses any."""
        n, g = len(self.points), len(self.gases)
        k = np.zeros((g, n, n))
        mix = self.space.mixing_per_h
        settle = self.space.stratification_per_h
        for j, gas in enumerate(self.gases):
            delta = relative_density(gas)
            for lower in range(n - 1):
                upper = lower + 1
                v_low, v_up = self.volumes[lower], self.volumes[upper]
                exchange = mix * min(v_low, v_up)  # m³ of zone air swapped per hour
                # Exchange: flux lower->upper = exchange * (A_low/V_low - A_up/V_up)
                k[j, lower, lower] -= exchange / v_low
                k[j, upper, lower] += exchange / v_low
                k[j, upper, upper] -= exchange / v_up
                k[j, lower, upper] += exchange / v_up
                # Buoyant drift: a fraction settle*|delta| per hour of the gas in the
                # source zone moves one zone down (heavy) or up (light).
                rate = settle * abs(delta)
                if delta > 0:
                    k[j, upper, upper] -= rate
                    k[j, lower, upper] += rate
                elif delta < 0:
                    k[j, lower, lower] -= rate
                    k[j, upper, lower] += rate
        return k

    def _release_weights(self, source: Source) -> npt.NDArray[np.float64]:
        n = len(self.points)
        weights = np.zeros(n)
        if source.point is not None:
            weights[self._zone[source.point]] = 1.0
            return weights
        mode = source.stratification
        if mode == "auto":
            delta = relative_density(source.gas)
            mode = "sink" if delta > 0.02 else "rise" if delta < -0.02 else "mixed"
        if mode == "sink":
            weights[0] = 1.0
        elif mode == "rise":
            weights[-1] = 1.0
        else:
            weights[:] = self.volumes / self.volumes.sum()
        return weights

    def ach_at(self, t: float) -> float:
        ach = 0.0
        for step in self.ventilation:
            if step.at_s <= t:
                ach = step.ach
        return ach

    def _emission(self, t0: float, t1: float) -> npt.NDArray[np.float64]:
        """m³ released per zone and gas between t0 and t1 (exact overlap with each window)."""
        out = np.zeros_like(self.amounts)
        for source, weights in zip(self.sources, self._release, strict=True):
            end = math.inf if source.end_s is None else source.end_s
            overlap = min(t1, end) - max(t0, source.start_s)
            if overlap > 0:
                m3 = source.rate_l_per_min / 1000.0 / 60.0 * overlap
                out[:, self._gas[source.gas]] += weights * m3
        return out

    def step(self, dt: float) -> None:
        if dt <= 0:
            return
        released = self._emission(self.t, self.t + dt)
        self.amounts += released
        self.emitted += released.sum(axis=0)
        # Explicit Euler is stable here: rates are a few per hour, steps a few seconds.
        hours = dt / 3600.0
        flux = np.einsum("gij,jg->ig", self._transport, self.amounts)
        self.amounts += hours * flux
        np.clip(self.amounts, 0.0, None, out=self.amounts)
        # Ventilation changes at a schedule step: split the step there.
        ach = self.ach_at(self.t)
        keep = math.exp(-ach * hours)
        self.vented += self.amounts.sum(axis=0) * (1.0 - keep)
        self.amounts *= keep
        self.t += dt

    def advance_to(self, t: float) -> None:
        """Integrate up to scenario time ``t`` (never backwards)."""
        cuts = sorted(
            {v.at_s for v in self.ventilation if self.t < v.at_s < t}
        )  # ventilation changes fall on step boundaries
        for boundary in [*cuts, t]:
            while self.t < boundary - 1e-9:
                self.step(min(self.step_s, boundary - self.t))

    # --- readout ---------------------------------------------------------------------

    def ppm(self, point: str, gas: str) -> float:
        if gas not in self._gas:
            return 0.0
        zone = self._zone[point]
        return float(self.amounts[zone, self._gas[gas]] / self.volumes[zone] / PPM)

    def o2_vol(self, point: str) -> float:
        zone = self._zone[point]
        foreign = float(self.amounts[zone].sum() / self.volumes[zone])
        return physics().o2_fresh_vol * max(0.0, 1.0 - foreign)

    def inventory(self) -> npt.NDArray[np.float64]:
        """m³ of each gas in the space now (order: :attr:`gases`)."""
        held: npt.NDArray[np.float64] = self.amounts.sum(axis=0)
        return held

    def snapshot(self) -> dict[str, dict[str, float]]:
        out = {}
        for point in self.points:
            values = {gas: self.ppm(point, gas) for gas in self.gases}
            values["O2_vol"] = self.o2_vol(point)
            out[point] = values
        return out
