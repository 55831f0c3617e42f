"""The status table's refusal reads in words: the event and the statuses are named as
people say them, never as the codes its facts keep (docs/rules.md; permits/words.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import permits.commands  # noqa: F401  (registers the codes and their fact words)
from permits.errors import Unmet
from permits.events import EventType
from permits.hot_work.state import HotWorkStatus
from permits.i18n import get_language, set_language
from permits.state import Status
from permits.words import EVENT_WORDS, STATUS_WORDS


@pytest.fixture
def language() -> Iterator[None]:
    before = get_language()
    yield
    set_language(before)


def test_every_event_type_and_status_has_words() -> None:
    assert {t.value for t in EventType} <= set(EVENT_WORDS)
    statuses = {s.value for s in Status} | {s.value for s in HotWorkStatus}
    assert statuses - {"none"} <= set(STATUS_WORDS)


@pytest.mark.usefixtures("language")
def test_not_allowed_in_status_names_the_event_and_statuses_in_words() -> None:
    refused = Unmet(
        "NOT_ALLOWED_IN_STATUS",
        {"action": "hot_work_fire_started", "status": "draft", "allowed": "active, gas_ok"},
    )
    set_language("zh_CN")
    assert refused.message() == "作业票为“草稿”时不能记录“开始动火”"
    assert "作业中、气体分析合格" in refused.remedy()
    set_language("en")
    assert refused.message() == "“Fire started” cannot be recorded while the permit is draft"
    assert refused.remedy().endswith("active (work under way), gas analysis passed")
    # The facts stay codes: a stored verdict is read back and rendered the same.
    assert refused.as_dict()["status"] == "draft"


@pytest.mark.usefixtures("language")
def test_a_code_without_words_is_shown_as_it_is() -> None:
    set_language("en")
    shown = Unmet("NOT_ALLOWED_IN_STATUS", {"action": "x_new", "status": "y", "allowed": "z"})
    assert shown.message() == "“x_new” cannot be recorded while the permit is y"


@pytest.mark.usefixtures("language")
def test_a_value_already_in_words_is_kept_whole() -> None:
    """A screen that words a fact itself ("approved, nobody has entered") keeps its
    words; only codes, one or a list of them, are put in words."""
    set_language("en")
    shown = Unmet(
        "NOT_ALLOWED_IN_STATUS",
        {"action": "approved", "status": "approved, nobody has entered", "allowed": "draft"},
    )
    assert shown.message() == (
        "“Permit approved” cannot be recorded while the permit is approved, nobody has entered"
    )


@pytest.mark.usefixtures("language")
def test_the_linked_permits_status_in_words() -> None:
    from permits.hot_work.codes import HotWorkCode

    set_language("zh_CN")
    linked = Unmet(
        HotWorkCode.HOT_WORK_LINKED_PERMIT_NOT_ACTIVE, {"permit": "CS-1", "status": "closing"}
    )
    assert "closing" not in linked.message() and "CS-1" in linked.message()
