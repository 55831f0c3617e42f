"""Canonical JSON: the one byte form an event is hashed in.

Two devices (or the tablet and the server, in different languages) must get
the same bytes for the same event, so the form is fixed here and not left to a
JSON library's defaults:

* objects: keys sorted by Unicode code point, no whitespace (``,`` and ``:``);
* strings: UTF-8, no ASCII escaping; only ``"``, ``\\`` and control characters
  below U+0020 are escaped (as ``json.dumps`` does);
* integers: decimal, no leading zeros; ``bool`` is ``true``/``false``;
* floats: must be finite. A float with an integral value and ``|x| < 2**53`` is
  written as an integer (``20.0`` -> ``20``), any other float in Python's
  shortest round-trip form (``repr``: ``20.9``, ``1e-07``). So a value written
  ``20`` or ``20.0`` by another implementation hashes the same;
* datetimes: must be timezone-aware; ISO 8601 ``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM``
  with the offset as recorded (never normalised to UTC, never ``Z``), fraction
  only when non-zero;
* dates: ``YYYY-MM-DD``; UUIDs: lower-case hyphenated; enums: their value;
  tuples and lists: arrays; ``None``: ``null``.

Anything else (NaN, naive datetimes, sets, bytes) is refused with
:class:`~permits.errors.InvalidInput`, because a value without one canonical
form cannot be hashed reproducibly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from uuid import UUID

from permits.errors import InvalidInput

__all__ = [
    "canonical_bytes",
    "canonical_datetime",
    "canonical_float",
    "canonical_json",
]


_MAX_EXACT_INT = 2**53


def canonical_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("datetime", "a timezone-aware datetime", value.isoformat())
    return value.isoformat()


def canonical_float(value: float) -> str:
    if not math.isfinite(value):
        raise InvalidInput("number", "a finite number", value)
    if value.is_integer() and abs(value) < _MAX_EXACT_INT:
        return str(int(value))
    return repr(value)


def _to_plain(value: Any, path: str) -> Any:
    """Reduce ``value`` to JSON scalars, lists and dicts that :data:`_ENCODER` writes in
    canonical form: floats become ``int`` when integral (``20.0`` -> ``20``) and stay
    floats otherwise (the encoder writes ``repr``, the shortest round-trip form)."""
    # The common scalars first: this runs once per field of every event hashed.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidInput(f"{path}.{key!r}", "string object keys", key)
            out[key] = _to_plain(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, Enum):
        return _to_plain(value.value, path)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput("number", "a finite number", value)
        if value.is_integer() and abs(value) < _MAX_EXACT_INT:
            return int(value)
        return float(value)
    if isinstance(value, datetime):
        return canonical_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        raise InvalidInput(path or "value", "no bare time of day (use a datetime)", str(value))
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return _to_plain(dict(value.items()), path)
    if isinstance(value, list | tuple):
        return [_to_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidInput(path or "value", "a JSON value", type(value).__name__)


# The C encoder writes exactly the canonical form of plain values: keys sorted by code
# point, no whitespace, strings escaped as ``json.dumps`` does with ensure_ascii off,
# floats by ``float.__repr__`` (integral floats were made ints by ``_to_plain``).
# It is several times faster than walking the value in Python, and every event pushed
# to the server is hashed once.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(_to_plain(value, ""))


def canonical_bytes(value: Any) -> bytes:
    try:
        return canonical_json(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON may spell a lone UTF-16 surrogate ("\udddd"); it is not text and has no
        # UTF-8 form, so there are no canonical bytes to hash (found by fuzzing exports).
        raise InvalidInput(
            "text", "Unicode text without lone surrogates", exc.object[exc.start : exc.end]
        ) from exc


def plain_json_bytes(value: Any) -> bytes:
    """JSON values (as ``json.loads`` returns them) written by the canonical encoder
    without the type walk. Equal to :func:`canonical_bytes` when ``value`` is already
    canonical plain JSON (no integral floats); different otherwise, never wrong: callers
    compare its digest with a signed hash and fall back to the full form on a mismatch.
    Raises ValueError or TypeError for values that are not JSON (NaN, objects)."""
    return _ENCODER.encode(value).encode("utf-8")
