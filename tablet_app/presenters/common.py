"""What every presenter shares: running an action and showing a refusal verbatim."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from permits.errors import PermitError, RuleViolation, Unmet
from tablet_app.store import StoreError


@dataclass(frozen=True)
class Outcome:
    """The result of one touch. ``unmet`` keeps the domain's conditions, so their
    text is rendered in the language on screen at display time."""

    ok: bool
    unmet: tuple[Unmet, ...] = ()
    error: str = ""
    value: Any = None

    @property
    def codes(self) -> list[str]:
        return [u.code for u in self.unmet]

    def lines(self, wording: Any = None) -> list[tuple[str, str]]:
        """Each unmet condition as (what is unmet, what to do), from ``permits``;
        with a screen's ``Wording``, its values in the screen's units and names for ids."""
        unmet = [wording.unmet(u) for u in self.unmet] if wording is not None else self.unmet
        out = [(u.message(), u.remedy()) for u in unmet]
        if self.error:
            out.append((self.error, ""))
        return out


OK = Outcome(True)


def attempt(action: Callable[[], Any]) -> Outcome:
    try:
        value = action()
    except RuleViolation as exc:
        return Outcome(False, unmet=exc.unmet)
    except (PermitError, StoreError, ValueError) as exc:
        # InvalidInput names the field; a pydantic ValidationError is a ValueError too.
        return Outcome(False, error=str(exc))
    return Outcome(True, value=value)
