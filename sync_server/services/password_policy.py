"""What a new password must not be: short, common, or made of the username.

Checked when an account is created and when its password is reset, never at sign-in (a
stored password is not re-judged). The list of common passwords is data with its source
(``common_passwords.txt``)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sync_server.errors import Unprocessable
from sync_server.i18n import gettext as _

MIN_LENGTH = 8
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_NOT_LETTERS = re.compile(r"[\W\d_]*")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def derived_from_username(password: str, username: str) -> bool:
    """The username (or its reverse) with at most digits and punctuation around it:
    ``admin123``, ``Admin!``, ``nimda`` for ``admin``."""
    name = username.strip().lower()
    if len(name) < 3:
        return False
    low = password.lower()
    for form in (name, name[::-1]):
        if form in low and _NOT_LETTERS.fullmatch(low.replace(form, "", 1)):
            return True
    return False


def check(password: str, username: str) -> None:
    """A 422 naming ``password`` when the password is too weak to keep."""
    if len(password) < MIN_LENGTH:
        raise Unprocessable(
            _("a password needs at least {n} characters").format(n=MIN_LENGTH),
            code="PASSWORD_TOO_SHORT",
            field="password",
        )
    if password.lower() in common_passwords():
        raise Unprocessable(
            _("this password is among the most common ones; choose another"),
            code="PASSWORD_COMMON",
            field="password",
        )
    if derived_from_username(password, username):
        raise Unprocessable(
            _("a password may not be made of the username"),
            code="PASSWORD_FROM_USERNAME",
            field="password",
        )
