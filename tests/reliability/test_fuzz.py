"""The fuzz harnesses in CI: every seed passes its harness in-process, then each target
runs a short coverage-guided session (2 s) through the real runner. Longer runs:
``python -m fuzz --seconds 600`` or ``scripts/reliability.sh``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import TARGETS
from fuzz.targets import HARNESSES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"


@pytest.mark.parametrize("target", TARGETS)
def test_every_seed_passes_its_harness(target: str) -> None:
    seeds = sorted((CORPUS / target).iterdir())
    assert seeds, f"no seeds for {target}"
    for seed in seeds:
        HARNESSES[target](seed.read_bytes())


def test_a_broken_invariant_is_a_finding() -> None:
    # The harness must be able to fail: a frame that decodes to NaN would be one.
    from fuzz import targets
    from sensor_drivers.protocols._common import ChannelValue, Frame

    nan_frame = Frame("x", (ChannelValue(targets.Channel.O2, float("nan"), targets.Unit.VOL),))
    with pytest.raises(AssertionError):
        targets._check_frame(nan_frame)


def test_short_fuzz_run_of_every_target_finds_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "--seconds", "2", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    outcomes = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [o["target"] for o in outcomes] == list(TARGETS), proc.stderr[-2000:]
    for o in outcomes:
        assert o["ok"], f"{o['target']}: {o['crash']}\n{o['detail']}"
        assert o["inputs"] > 100, o  # it really ran
    assert proc.returncode == 0
