"""The one place the server binds to the permit core's models and functions.

Everything the server knows about permits, people, spaces and hazards comes from
``permits``; this module only adapts call shapes, so a change in the core shows up here.
"""

from __future__ import annotations

import re
from typing import Any

from sync_server.i18n import gettext as _


def validate_credit_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        raise ValueError("expected 18 characters of the GB 32100 alphabet")
    return code


class ReferenceInvalid(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def profile_names() -> list[str]:
    from permits.profiles import list_profiles

    return list_profiles()


def _validate_profile_override(item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    from permits.errors import ProfileError
    from permits.profiles import apply_override, load_profile

    base = data.get("base")
    override = data.get("override")
    if not isinstance(base, str):
        raise ReferenceInvalid("PROFILE_BASE_REQUIRED", _("expected the base profile name"), "base")
    if not isinstance(override, dict):
        raise ReferenceInvalid(
            "PROFILE_OVERRIDE_REQUIRED", _("expected an override object"), "override"
        )
    try:
        profile = apply_override(load_profile(base), {**override, "name": item_id})
    except ProfileError as exc:
        # OVERRIDE_LOOSER, OVERRIDE_FIELD, PROFILE_UNKNOWN … straight from the core.
        raise ReferenceInvalid(exc.code, str(exc), "override") from exc
    return {"base": base, "override": override, "name": profile.name}


def validate_reference(
    kind: str, item_id: str, data: dict[str, Any], enterprise_id: str
) -> dict[str, Any]:
    if kind == "profile-overrides":
        return _validate_profile_override(item_id, data)
    given = data.get("id")
    if given is not None and given != item_id:
        raise ReferenceInvalid(
            "ID_MISMATCH", _("the id in the body differs from the id in the path"), "id"
        )
    return {**data, "id": item_id}
