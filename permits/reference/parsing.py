"""Validate reference data from JSON-like input with the core's error contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from permits.atmosphere import _expected, _path
from permits.errors import InvalidInput
from permits.i18n import gettext as _

M = TypeVar("M", bound=BaseModel)


def parse_reference(model: type[M], data: Mapping[str, Any]) -> M:
    """``model`` validated from ``data``; InvalidInput names the JSON path of the
    first bad field (for example ``isolation_points[1].kind``)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("(document)", _("a JSON object"), type(data).__name__)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        got = first.get("input")
        shown = got if isinstance(got, str | int | float | bool) or got is None else None
        expected = _expected(first)
        if first["type"] == "value_error":
            # Our own validators: the message says what was expected.
            expected = str(first.get("ctx", {}).get("error", first["msg"]))
        raise InvalidInput(_path(first["loc"]), expected, shown) from None
