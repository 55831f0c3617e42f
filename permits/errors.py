"""The permit core's exceptions.

PermitError                 root; ``code`` is machine-readable
├── InvalidInput            bad input: names the field and what was expected
├── ProfileError            a profile file or an override that is not allowed
├── IntegrityError          a chain that does not verify (first bad seq and why)
├── VersionConflict         a second writer forked a permit chain
└── RuleViolation           a command refused; ``unmet`` lists every unmet condition
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from permits.i18n import gettext as _


class PermitError(Exception):
    code: str = "PERMIT_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidInput(PermitError):
    code = "INVALID_INPUT"

    def __init__(self, field_path: str, expected: str, got: Any = None) -> None:
        self.field = field_path
        self.expected = expected
        self.got = got
        shown = "" if got is None else _(" (got {got!r})").format(got=got)
        super().__init__(
            _("invalid input at {field}: expected {expected}{shown}").format(
                field=field_path, expected=expected, shown=shown
            )
        )


class ProfileError(PermitError):
    code = "PROFILE_ERROR"


class IntegrityError(PermitError):
    code = "INTEGRITY_ERROR"

    def __init__(self, seq: int | None, reason: str, message: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(message, code=reason)


class VersionConflict(PermitError):
    code = "VERSION_CONFLICT"


@dataclass(frozen=True)
class Unmet:
    """One unmet condition: a stable code, the facts behind it, and a remedy.

    Text is rendered on demand in the current language, so events and stored
    verdicts carry codes and facts, never a translated sentence.
    """

    code: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        from permits.messages import render

        return render(self.code, self.facts)

    def remedy(self) -> str:
        from permits.messages import remedy

        return remedy(self.code, self.facts)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, **dict(self.facts)}


class RuleViolation(PermitError):
    code = "RULE_VIOLATION"

    def __init__(self, unmet: Iterable[Unmet]) -> None:
        self.unmet: tuple[Unmet, ...] = tuple(unmet)
        if not self.unmet:
            raise ValueError("a RuleViolation needs at least one unmet condition")
        super().__init__("; ".join(u.message() for u in self.unmet))

    @property
    def codes(self) -> list[str]:
        return [u.code for u in self.unmet]
