"""Text for every reason and unmet-condition code: what is wrong and what to do.

Codes are stable and machine-readable; the sentences are translated at display
time. A code with no entry here still renders (its code and facts), so a new
code can never hide a refusal.

Codes are declared as a :class:`ReasonCode` enum whose members carry their
message and remedy (``permits.commands.codes``); older modules still call
:func:`register`. Both land in the one lookup :func:`render` reads, keyed by the
code's string, so a code read back from a stored verdict renders too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

from permits.i18n import gettext as _

# code -> (what is wrong, what to do). Templates use str.format with the facts.
# Entries are added by each module that raises the code (register()).
_MESSAGES: dict[str, tuple[str, str]] = {}
# code -> fact -> (code of a value -> its words): facts stored as codes (a status, an
# event type) that a sentence names in words. A value of several codes is ", "-joined.
_FACT_WORDS: dict[str, dict[str, Mapping[str, str]]] = {}


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered."""
    return message


def register(code: str, message: str, remedy: str) -> None:
    _MESSAGES[code] = (message, remedy)


def register_fact_words(code: str, **tables: Mapping[str, str]) -> None:
    """Name ``code``'s facts in words when it renders (``status=STATUS_WORDS``)."""
    _FACT_WORDS.setdefault(code, {}).update(tables)


def _in_words(code: str, facts: Mapping[str, Any]) -> Mapping[str, Any]:
    tables = _FACT_WORDS.get(code)
    if not tables:
        return facts
    out = dict(facts)
    for fact, table in tables.items():
        value = out.get(fact)
        if not isinstance(value, str):
            continue
        parts = [p.strip() for p in value.split(",")]
        if value in table:
            out[fact] = _(table[value])
        elif all(p in table for p in parts):  # several codes ("active, gas_ok")
            out[fact] = _(", ").join(_(table[p]) for p in parts)
        # else: already words (a screen's own), or a code without words: shown as it is
    return out


class ReasonCode(StrEnum):
    """A machine-readable code with its message and remedy (``N_`` templates).

    A member is its code string (``Code.NO_PERMIT == "NO_PERMIT"``), so stored codes
    and comparisons with strings keep working. Declaring a member registers its text.
    """

    message: str
    remedy: str

    def __new__(cls, code: str, message: str, remedy: str) -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.message = message
        member.remedy = remedy
        register(code, message, remedy)
        return member


def _format(template: str, facts: Mapping[str, Any]) -> str:
    try:
        return template.format(**facts)
    except (KeyError, IndexError, ValueError):
        return template


def render(code: str, facts: Mapping[str, Any]) -> str:
    entry = _MESSAGES.get(code)
    if entry is None:
        detail = ", ".join(f"{k}={v}" for k, v in facts.items())
        return f"{code} ({detail})" if detail else code
    return _format(_(entry[0]), _in_words(code, facts))


def remedy(code: str, facts: Mapping[str, Any]) -> str:
    entry = _MESSAGES.get(code)
    if entry is None:
        return ""
    return _format(_(entry[1]), _in_words(code, facts))
