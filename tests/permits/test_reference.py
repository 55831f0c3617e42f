"""Reference models: USCC, people and PINs, contractors and the roster, the ledger,
drills and training, detectors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from permits.errors import InvalidInput
from permits.i18n import get_language, set_language
from permits.readings import Channel
from permits.reference import (
    BumpTest,
    Certificate,
    ConfinedSpace,
    Contractor,
    Detector,
    EmergencyDrill,
    Employer,
    Enterprise,
    FourLists,
    IsolationKind,
    IsolationPoint,
    Person,
    Role,
    SpaceType,
    TopicTraining,
    TrainingRecord,
    hash_pin,
    is_valid_uscc,
    latest_overdue,
    roster_eligibility,
    uscc_check_char,
    validate_uscc,
    verify_pin,
)
from permits.reference.uscc import CHARSET

# A code published as an example of the format; its check character is 3.
KNOWN_VALID = "91350100M000100Y43"


def make_code(body: str) -> str:
    return body + uscc_check_char(body)


VALID = make_code("91440300MA5F00000")  # a 9 (industry & commerce) + 1 (company) code


# --------------------------------------------------------------- USCC


def test_known_code_is_valid() -> None:
    assert validate_uscc(KNOWN_VALID) == KNOWN_VALID
    assert validate_uscc(KNOWN_VALID.lower()) == KNOWN_VALID


def test_check_character_by_hand() -> None:
    # "91350100M000100Y4": values 9,1,3,5,0,1,0,0,21,0,0,0,1,0,0,30,4 with weights
    # 3**i mod 31 = 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28:
    # 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31-28 = 3.
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("code", "expected_part"),
    [
        (KNOWN_VALID[:-1] + "4", "check character 3"),
        (KNOWN_VALID[:-1], "18-character"),
        (KNOWN_VALID + "0", "18-character"),
        ("91350100M000100I43", "I, O, Z, S, V"),  # I is not in the code set
        ("9135A100M000100Y43", "administrative division"),
    ],
)
def test_invalid_codes(code: str, expected_part: str) -> None:
    previous = get_language()
    set_language("en")
    try:
        with pytest.raises(InvalidInput) as info:
            validate_uscc(code)
    finally:
        set_language(previous)
    assert info.value.field == "uscc"
    assert expected_part in info.value.expected


_BODY = st.tuples(
    st.text(alphabet=CHARSET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CHARSET, min_size=9, max_size=9),
).map("".join)


@given(body=_BODY, position=st.integers(0, 17), replacement=st.sampled_from(CHARSET))
def test_every_single_substitution_is_detected(body: str, position: int, replacement: str) -> None:
    code = make_code(body)
    assert is_valid_uscc(code)
    mutated = code[:position] + replacement + code[position + 1 :]
    assert is_valid_uscc(mutated) is (mutated == code)


@given(body=_BODY, position=st.integers(0, 16))
def test_adjacent_transpositions_are_detected(body: str, position: int) -> None:
    code = make_code(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if swapped != code and swapped[2:8].isdigit():
        assert not is_valid_uscc(swapped)


def test_enterprise_validates_its_code() -> None:
    enterprise = Enterprise(id="E1", name="某糖厂", uscc=VALID.lower(), county_code="450321")
    assert enterprise.uscc == VALID
    with pytest.raises(ValidationError) as info:
        Enterprise(id="E1", name="某糖厂", uscc=VALID[:-1] + "X", county_code="450321")
    assert "uscc" in str(info.value)


# --------------------------------------------------------------- people and PINs

DAY = date(2026, 11, 28)


def person(**changes: Any) -> Person:
    data: dict[str, Any] = {
        "id": "P1",
        "name": "张三",
        "enterprise_id": "E1",
        "employer": Employer(kind="enterprise", id="E1"),
        "roles": frozenset({Role.ENTRANT}),
        "training": (TrainingRecord(completed_on=date(2026, 3, 1), valid_until=date(2027, 3, 1)),),
    }
    data.update(changes)
    return Person(**data)


def test_pin_hash_and_verify() -> None:
    encoded = hash_pin("4711")
    assert encoded.startswith("$argon2id$") and "4711" not in encoded
    assert verify_pin("4711", encoded)
    assert not verify_pin("4712", encoded)
    assert hash_pin("4711") != encoded  # fresh salt every time
    assert not verify_pin("4711", None)
    assert not verify_pin("4711", "4711")  # a plain PIN is never accepted as a hash


@pytest.mark.parametrize("bad", ["", "123", "12a4", "1234567890123", "１２３４"])
def test_pin_format(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        hash_pin(bad)
    assert info.value.field == "pin"


def test_person_pin_round_trip_and_no_plain_pin() -> None:
    p = person().with_pin("2580")
    assert p.verify_pin("2580") and not p.verify_pin("0852")
    assert "2580" not in repr(p)
    with pytest.raises(ValidationError):
        person(pin_hash="2580")


def test_training_validity() -> None:
    p = person()
    assert p.training_valid(DAY)
    assert p.training_valid(date(2027, 3, 1))
    assert not p.training_valid(date(2027, 3, 2))
    assert not p.training_valid(date(2026, 2, 28))


def test_training_never_counts_longer_than_a_year() -> None:
    # A record claiming two years of validity still lapses after 12 months.
    p = person(
        training=(TrainingRecord(completed_on=date(2025, 6, 1), valid_until=date(2027, 6, 1)),)
    )
    assert p.training_valid(date(2026, 6, 1))
    assert not p.training_valid(date(2026, 6, 2))
    assert p.training_valid_until() == date(2026, 6, 1)


def test_certificates() -> None:
    cert = Certificate(
        type="hot_work",
        number="T4503211990",
        issued_on=date(2024, 1, 1),
        expires_on=date(2026, 12, 31),
    )
    p = person(certificates=(cert,))
    assert p.certificate("hot_work", DAY) == cert
    assert p.certificate("hot_work", date(2027, 1, 1)) is None
    assert p.certificate("electrician", DAY) is None


# --------------------------------------------------------------- contractors and the roster


def contractor(**changes: Any) -> Contractor:
    data: dict[str, Any] = {
        "id": "C1",
        "name": "某清淤公司",
        "uscc": VALID,
        "contract_reference": "HT-2026-031",
        "contract_valid_from": date(2026, 1, 1),
        "contract_valid_until": date(2026, 12, 31),
    }
    data.update(changes)
    return Contractor(**data)


def contractor_person() -> Person:
    return person(employer=Employer(kind="contractor", id="C1"))


def test_eligible_people() -> None:
    assert roster_eligibility(person(), [], DAY) == []
    assert roster_eligibility(contractor_person(), [contractor()], DAY) == []
    assert roster_eligibility(contractor_person(), {"C1": contractor()}, DAY) == []


def test_blacklisted_contractor_people_cannot_be_rostered() -> None:
    listed = contractor(blacklisted_on=date(2026, 11, 1), blacklist_reason="伪造检测记录")
    unmet = roster_eligibility(contractor_person(), [listed], DAY)
    assert [u.code for u in unmet] == ["ROSTER_CONTRACTOR_BLACKLISTED"]
    # blacklisted from a later date: still fine today
    later = contractor(blacklisted_on=date(2026, 12, 1))
    assert roster_eligibility(contractor_person(), [later], DAY) == []


def test_every_unmet_condition_is_listed() -> None:
    untrained = contractor_person().model_copy(update={"training": ()})
    expired = contractor(contract_valid_until=date(2026, 6, 30), blacklisted_on=date(2026, 7, 1))
    codes = [u.code for u in roster_eligibility(untrained, [expired], DAY)]
    assert codes == [
        "ROSTER_TRAINING_INVALID",
        "ROSTER_CONTRACTOR_BLACKLISTED",
        "ROSTER_CONTRACT_NOT_VALID",
    ]
    unknown = roster_eligibility(contractor_person(), [], DAY)
    assert [u.code for u in unknown] == ["ROSTER_CONTRACTOR_UNKNOWN"]


def test_unmet_renders_text(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = get_language()
    set_language("en")
    try:
        unmet = roster_eligibility(contractor_person(), [contractor(blacklisted_on=DAY)], DAY)[0]
        assert "blacklisted" in unmet.message() and "某清淤公司" in unmet.message()
        assert unmet.remedy()
    finally:
        set_language(previous)


# --------------------------------------------------------------- the ledger


def space(**changes: Any) -> ConfinedSpace:
    data: dict[str, Any] = {
        "id": "SP-01",
        "enterprise_id": "E1",
        "name": "糖蜜罐",
        "location": "制炼车间",
        "type": SpaceType.CLOSED_EQUIPMENT,
        "hazards": ("H2S", "O2_deficiency"),
        "required_channels": (Channel.O2, Channel.LEL, Channel.H2S, Channel.CO),
        "sample_points": ("top", "middle", "bottom"),
        "isolation_points": (
            IsolationPoint(
                id="I1",
                description="糖蜜进料管 DN100",
                kind=IsolationKind.BLIND_FLANGE,
                energy="pipe",
                hazardous_source=True,
            ),
            IsolationPoint(
                id="I2",
                description="搅拌电机",
                kind=IsolationKind.ELECTRICAL_LOCKOUT,
                energy="electrical",
            ),
        ),
        "required_ppe": ("SCBA", "harness"),
        "rescue_equipment": ("tripod", "winch"),
        "key_supervision": True,
        "warning_sign_present": True,
        "four_lists": FourLists(
            basic_information=("糖蜜罐 50 m3",),
            responsible_persons=("P9",),
            control_measures=("先通风再检测后作业",),
            emergency_response=("三脚架救援",),
        ),
    }
    data.update(changes)
    return ConfinedSpace(**data)


def test_complete_ledger_entry_has_no_gaps() -> None:
    assert space().ledger_gaps() == []
    assert space().requires_principal_approval


def test_poisoning_risk_requires_principal_even_if_flag_missing() -> None:
    assert space(key_supervision=False).requires_principal_approval
    plain = space(
        key_supervision=False,
        hazards=("O2_deficiency",),
        required_channels=(Channel.O2, Channel.LEL),
    )
    assert not plain.requires_principal_approval


def test_ledger_gaps() -> None:
    weak = space(
        warning_sign_present=False,
        four_lists=FourLists(basic_information=("x",)),
        required_channels=(Channel.H2S,),
        isolation_points=(
            IsolationPoint(
                id="I1",
                description="进料管",
                kind=IsolationKind.CLOSED_VALVE,
                energy="pipe",
                hazardous_source=True,
            ),
        ),
    )
    codes = [(u.code, u.facts.get("list")) for u in weak.ledger_gaps()]
    assert codes == [
        ("LEDGER_NO_WARNING_SIGN", None),
        ("LEDGER_LIST_MISSING", "responsible_persons"),
        ("LEDGER_LIST_MISSING", "control_measures"),
        ("LEDGER_LIST_MISSING", "emergency_response"),
        ("LEDGER_NO_OXYGEN_CHANNEL", None),
        ("LEDGER_WEAK_PIPE_ISOLATION", None),
    ]


def test_isolation_kinds() -> None:
    assert IsolationKind.BLIND_FLANGE.accepted_as_sole_pipe_isolation
    assert IsolationKind.REMOVED_PIPE_SECTION.accepted_as_sole_pipe_isolation
    assert not IsolationKind.CLOSED_VALVE.accepted_as_sole_pipe_isolation
    assert not IsolationKind.WATER_SEAL.accepted_as_sole_pipe_isolation


def test_space_refuses_duplicate_points_and_empty_channels() -> None:
    with pytest.raises(ValidationError):
        space(sample_points=("top", "top"))
    with pytest.raises(ValidationError):
        space(required_channels=())


# --------------------------------------------------------------- drills and training


def test_drill_overdue_after_a_year() -> None:
    drill = EmergencyDrill(
        id="D1", enterprise_id="E1", held_on=date(2025, 11, 28), scenario="硫化氢中毒救援"
    )
    assert drill.next_due() == date(2026, 11, 28)
    assert not drill.overdue(date(2026, 11, 28))
    assert drill.overdue(date(2026, 11, 29))


def test_leap_day_training() -> None:
    training = TopicTraining(id="T1", enterprise_id="E1", held_on=date(2028, 2, 29))
    assert training.next_due() == date(2029, 2, 28)


def test_latest_overdue() -> None:
    old = EmergencyDrill(id="D1", enterprise_id="E1", held_on=date(2024, 5, 1), scenario="x")
    recent = EmergencyDrill(id="D2", enterprise_id="E1", held_on=date(2026, 5, 1), scenario="y")
    assert latest_overdue([], DAY)
    assert latest_overdue([old], DAY)
    assert not latest_overdue([old, recent], DAY)
    # a drill planned for the future does not count today
    future = EmergencyDrill(id="D3", enterprise_id="E1", held_on=date(2027, 1, 1), scenario="z")
    assert latest_overdue([old, future], DAY)


# --------------------------------------------------------------- detectors


def test_detector_bump_and_calibration() -> None:
    entry = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    detector = Detector(
        serial="GT4-0001",
        model="GT-4",
        protocol="modbus-gt4",
        channels=(Channel.O2, Channel.LEL, Channel.H2S, Channel.CO),
        calibration_due=date(2027, 3, 1),
        bump_tests=(
            BumpTest(at=entry - timedelta(hours=30), passed=True),
            BumpTest(at=entry - timedelta(hours=2), passed=False),
            BumpTest(at=entry - timedelta(hours=3), passed=True, channels=(Channel.O2,)),
            BumpTest(at=entry + timedelta(hours=1), passed=True),
        ),
    )
    # the failed test, the partial one and the one after entry do not count
    assert detector.last_passed_bump_test(before=entry) == entry - timedelta(hours=30)
    assert detector.calibration_valid(date(2027, 3, 1))
    assert not detector.calibration_valid(date(2027, 3, 2))
    assert detector.for_atmosphere_test(entry) == {
        "serial": "GT4-0001",
        "calibration_due": "2027-03-01",
        "last_bump_test": (entry - timedelta(hours=30)).isoformat(),
    }


@settings(max_examples=20)
@given(st.lists(st.booleans(), max_size=5))
def test_only_passed_bump_tests_count(results: list[bool]) -> None:
    base = datetime(2026, 11, 28, tzinfo=UTC)
    detector = Detector(
        serial="S",
        model="M",
        protocol="gasl",
        channels=(Channel.O2,),
        calibration_due=date(2027, 1, 1),
        bump_tests=tuple(
            BumpTest(at=base + timedelta(hours=i), passed=p) for i, p in enumerate(results)
        ),
    )
    passed = [base + timedelta(hours=i) for i, p in enumerate(results) if p]
    assert detector.last_passed_bump_test() == (max(passed) if passed else None)


def test_reference_codes_are_translated() -> None:
    from pathlib import Path

    from babel.messages.pofile import read_po

    import permits.reference
    from permits.messages import _MESSAGES

    po = Path(permits.reference.__file__).parent.parent / "locale/zh_CN/LC_MESSAGES/reference.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    codes = [c for c in _MESSAGES if c.startswith(("ROSTER_", "LEDGER_"))]
    assert len(codes) == 8
    for code in codes:
        for msgid in _MESSAGES[code]:
            entry = catalog.get(msgid)
            assert entry is not None and entry.string, msgid


def test_parse_reference_names_the_field() -> None:
    from permits.reference import parse_reference

    raw = space().model_dump(mode="json")
    assert parse_reference(ConfinedSpace, raw) == space()
    raw["isolation_points"][1]["kind"] = "duct_tape"
    with pytest.raises(InvalidInput) as info:
        parse_reference(ConfinedSpace, raw)
    assert info.value.field == "isolation_points[1].kind"
    assert "blind_flange" in info.value.expected
    bad_code = {"id": "E1", "name": "x", "uscc": KNOWN_VALID[:-1] + "4", "county_code": "350100"}
    with pytest.raises(InvalidInput) as info:
        parse_reference(Enterprise, bad_code)
    assert info.value.field == "uscc" and "3" in info.value.expected
