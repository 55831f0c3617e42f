"""Text for every reason and unmet-condition code: what is wrong and what to do.

Codes are stable and machine-readable; the sentences are translated at display
time. A code with no entry here still renders (its code and facts), so a new
code can never hide a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permits.i18n import gettext as _

# code -> (what is wrong, what to do). Templates use str.format with the facts.
# Entries are added by each module that raises the code (register()).
_MESSAGES: dict[str, tuple[str, str]] = {}


def register(code: str, message: str, remedy: str) -> None:
    _MESSAGES[code] = (message, remedy)


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
    return _format(_(entry[0]), facts)


def remedy(code: str, facts: Mapping[str, Any]) -> str:
    entry = _MESSAGES.get(code)
    if entry is None:
        return ""
    return _format(_(entry[1]), facts)
