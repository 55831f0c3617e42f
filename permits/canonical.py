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
    """Reduce ``value`` to JSON scalars, lists and dicts in canonical form."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return _to_plain(value.value, path)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _RawNumber(canonical_float(value))
    if isinstance(value, datetime):
        return canonical_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        raise InvalidInput(path or "value", "no bare time of day (use a datetime)", str(value))
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{path}.{key!r}", "string object keys", key)
            out[key] = _to_plain(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list | tuple):
        return [_to_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidInput(path or "value", "a JSON value", type(value).__name__)


class _RawNumber:
    """A float already written in canonical form (kept out of json's float repr)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _encode(value: Any, parts: list[str]) -> None:
    if isinstance(value, _RawNumber):
        parts.append(value.text)
    elif isinstance(value, dict):
        parts.append("{")
        for i, key in enumerate(sorted(value)):
            if i:
                parts.append(",")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            _encode(value[key], parts)
        parts.append("}")
    elif isinstance(value, list):
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            _encode(item, parts)
        parts.append("]")
    else:
        parts.append(json.dumps(value, ensure_ascii=False))


def canonical_json(value: Any) -> str:
    parts: list[str] = []
    _encode(_to_plain(value, ""), parts)
    return "".join(parts)


def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value).encode("utf-8")
