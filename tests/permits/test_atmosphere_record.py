"""The typed atmosphere-test record of ``AtmosphereTestRecorded``: it takes the dicts
events always carried, hashes them byte for byte as before, and builds the document
the tablet records."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.atmosphere_record import AtmosphereRecord, SampleRecord
from permits.canonical import canonical_bytes
from permits.errors import InvalidInput
from permits.events import (
    AtmosphereTestRecorded,
    DetectorIdentity,
    SpaceSnapshot,
    parse_event,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "permits" / "demo-chain.json"
CST = timezone(timedelta(hours=8))
DETECTOR = DetectorIdentity(
    serial="GT4-0001",
    calibration_due=date(2027, 3, 1),
    last_bump_test=datetime(2026, 11, 28, 7, 30, tzinfo=CST),
)
SPACE = SpaceSnapshot(
    space_id="SP-1",
    name="tank",
    required_channels=("O2", "H2S"),
    sample_points=("top", "bottom"),
)


def _hashed(test: Any) -> bytes:
    payload = AtmosphereTestRecorded(
        test=test, detector=DETECTOR, source="driver", tested_by="P-1"
    ).model_dump(mode="python", exclude_defaults=True)
    return canonical_bytes(payload["test"])


def _golden_tests() -> list[dict[str, Any]]:
    events = json.loads(GOLDEN.read_text(encoding="utf-8"))["events"]
    return [e["payload"]["test"] for e in events if e["type"] == "atmosphere_test_recorded"]


def _sample(point: str, **reading: Any) -> dict[str, Any]:
    return {
        "point": point,
        "taken_at": "2026-11-28T08:38:00+08:00",
        "readings": [{"channel": "O2", "value": 20.9, "unit": "%VOL", **reading}],
    }


def test_the_golden_chain_tests_hash_as_their_dicts() -> None:
    tests = _golden_tests()
    assert tests
    for test in tests:
        assert _hashed(test) == canonical_bytes(test)


@pytest.mark.parametrize(
    "edit",
    [
        # a writer that leaves out a key with a default (the HIL rig has no oxygen_enriched)
        lambda t: t["space"].pop("oxygen_enriched"),
        # explicit defaults and explicit nulls are kept as written
        lambda t: t["samples"][0].update(status=[]),
        lambda t: t["samples"][0]["readings"][0].update(status=[], gas=None),
        lambda t: t["detector"].update(last_bump_test=None),
        # integers stay integers, floats stay floats
        lambda t: t["samples"][0]["readings"][0].update(value=0),
        lambda t: t["samples"][0]["readings"][0].update(value=1e-07),
        # an unknown key is kept for the judge to name
        lambda t: t.update(note={"by": "guardian", "n": [1, 2.5]}),
        lambda t: t.pop("space"),
    ],
)
def test_variants_written_by_other_writers_hash_as_their_dicts(edit: Any) -> None:
    test = copy.deepcopy(_golden_tests()[0])
    edit(test)
    assert _hashed(test) == canonical_bytes(test)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "channel": st.sampled_from(["O2", "H2S", "CO", "LEL"]),
                "value": st.one_of(
                    st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False)
                ),
                "unit": st.sampled_from(["%VOL", "ppm", "%LEL"]),
            },
            optional={
                "gas": st.one_of(st.none(), st.text(max_size=5)),
                "lel_vol": st.one_of(st.none(), st.floats(0.1, 100)),
                "status": st.lists(st.sampled_from(["fault", "warmup"]), max_size=2),
            },
        ),
        max_size=4,
    )
)
def test_any_readings_hash_as_their_dicts(readings: list[dict[str, Any]]) -> None:
    test = {"detector": {"serial": "D-1"}, "samples": [{**_sample("top"), "readings": readings}]}
    assert _hashed(test) == canonical_bytes(test)


def test_a_value_of_the_wrong_type_is_refused_naming_the_field() -> None:
    test = copy.deepcopy(_golden_tests()[0])
    test["samples"][1]["readings"][2]["value"] = "0.5"
    raw = json.loads(GOLDEN.read_text(encoding="utf-8"))["events"]
    event = next(e for e in raw if e["type"] == "atmosphere_test_recorded")
    with pytest.raises(InvalidInput) as info:
        parse_event({**event, "payload": {**event["payload"], "test": test}})
    assert info.value.field == "payload.test.samples.1.readings.2.value"


def test_the_builder_writes_the_document_the_tablet_wrote_by_hand() -> None:
    entry_at = datetime(2026, 11, 28, 9, 0, tzinfo=CST)
    samples = [_sample("top"), _sample("bottom", status=["fault"])]
    by_hand = {
        "entry_at": entry_at.isoformat(),
        "space": {
            "id": "SP-1",
            "required_channels": ["O2", "H2S"],
            "sample_points": ["top", "bottom"],
            "oxygen_enriched": False,
        },
        "detector": {
            "serial": "GT4-0001",
            "calibration_due": "2027-03-01",
            "last_bump_test": "2026-11-28T07:30:00+08:00",
        },
        "samples": samples,
    }
    built = AtmosphereRecord.of(entry_at=entry_at, space=SPACE, detector=DETECTOR, samples=samples)
    assert built.model_dump(mode="json") == by_hand
    assert _hashed(built) == canonical_bytes(by_hand)
    unknown = DetectorIdentity(serial="D-2")
    bare = AtmosphereRecord.of(entry_at=entry_at, space=SPACE, detector=unknown, samples=[])
    assert bare.model_dump()["detector"] == {
        "serial": "D-2",
        "calibration_due": None,
        "last_bump_test": None,
    }


def test_readers_get_typed_samples() -> None:
    record = AtmosphereRecord.model_validate(_golden_tests()[0])
    assert record.detector.serial == "GT4-0001"
    assert all(isinstance(s, SampleRecord) for s in record.samples)
    assert [r.channel for r in record.samples[0].readings] == ["O2", "LEL", "H2S", "CO"]
    assert record.samples[0].readings[1].gas == "CH4"


def test_times_given_as_python_values_hash_as_before() -> None:
    at = datetime(2026, 11, 28, 8, 38, tzinfo=CST)
    test = {
        "entry_at": at,
        "detector": {"serial": "D-1", "calibration_due": date(2027, 3, 1)},
        "samples": [{**_sample("top"), "taken_at": at}],
    }
    assert _hashed(test) == canonical_bytes(test)
