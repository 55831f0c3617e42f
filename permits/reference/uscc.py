"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character set (digits and capitals without I, O, Z,
S, V): registration authority (1), organisation category (1), administrative
division code (6 digits), organisation code (9), check character (1). The
check character makes the weighted sum of all 18 values divisible by 31, the
weight of position i (from 0) being 3**i mod 31.
"""

from __future__ import annotations

from permits.errors import InvalidInput
from permits.i18n import gettext as _

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_MODULUS = len(CHARSET)  # 31
_WEIGHTS = tuple(pow(3, i, _MODULUS) for i in range(17))
LENGTH = 18


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1 or any(c not in CHARSET for c in first17):
        raise InvalidInput(
            "uscc", _("17 characters of the code set {charset}").format(charset=CHARSET), first17
        )
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def validate_uscc(code: str, field: str = "uscc") -> str:
    """The code, upper-cased; InvalidInput naming ``field`` if it is not valid."""
    if not isinstance(code, str):
        raise InvalidInput(field, _("an 18-character unified social credit code"), code)
    value = code.strip().upper()
    if len(value) != LENGTH:
        raise InvalidInput(
            field,
            _("an 18-character unified social credit code (got {n} characters)").format(
                n=len(value)
            ),
            code,
        )
    bad = [c for c in value if c not in CHARSET]
    if bad:
        raise InvalidInput(
            field,
            _("only the characters {charset} (I, O, Z, S, V are not used)").format(charset=CHARSET),
            code,
        )
    if not value[2:8].isdigit():
        raise InvalidInput(
            field, _("a 6-digit administrative division code in positions 3-8"), code
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise InvalidInput(
            field,
            _("check character {expected} (GB 32100-2015), not {got}").format(
                expected=expected, got=value[17]
            ),
            code,
        )
    return value


def is_valid_uscc(code: str) -> bool:
    try:
        validate_uscc(code)
    except InvalidInput:
        return False
    return True
