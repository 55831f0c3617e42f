"""Every reason code renders what is unmet and what to do, in English and zh_CN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import permits.atmosphere as atmosphere
import permits.monitoring as monitoring
from permits.i18n import get_language, set_language
from permits.messages import _MESSAGES

PO = Path(atmosphere.__file__).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "atmosphere.po"


@pytest.fixture
def english() -> Iterator[None]:
    previous = get_language()
    set_language("en")
    yield
    set_language(previous)


@pytest.mark.parametrize(
    "code",
    sorted(
        {
            *atmosphere.REASON_CODES,
            atmosphere.LOW_BATTERY,
            *monitoring.ALARM_CODES,
            *monitoring.WARNING_CODES,
        }
    ),
)
def test_code_is_registered_and_translated(code: str) -> None:
    message, remedy = _MESSAGES[code]
    with PO.open("rb") as f:
        catalog = read_po(f)
    for msgid in (message, remedy):
        entry = catalog.get(msgid)
        assert entry is not None and entry.string, msgid
        # The translation keeps every placeholder of the English text.
        for name in ("point", "channel", "value", "limit", "unit"):
            assert (f"{{{name}}}" in msgid) == (f"{{{name}}}" in str(entry.string)), msgid


def test_reason_renders_facts_and_remedy(english: None) -> None:
    reason = atmosphere.Reason("O2_LOW", "bottom", "O2", 18.7, 19.5, "%VOL")
    assert reason.message() == (
        "Oxygen too low at point bottom: 18.7 %VOL, the minimum is 19.5 %VOL"
    )
    assert "re-test point bottom" in reason.remedy()
    unmet = reason.to_unmet()
    assert unmet.code == "O2_LOW" and unmet.facts["point"] == "bottom"


def test_reason_without_point_renders_cleanly(english: None) -> None:
    text = atmosphere.Reason("CALIBRATION_EXPIRED").message()
    assert "{" not in text and "calibration" in text
    assert atmosphere.Reason("CALIBRATION_EXPIRED").as_dict() == {"code": "CALIBRATION_EXPIRED"}
