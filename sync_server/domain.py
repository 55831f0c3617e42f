"""The one place the server binds to the permit core's models and functions.

Everything the server knows about permits, people, spaces and hazards comes from
``permits``; this module only adapts call shapes, so a change in the core shows up here.
"""

from __future__ import annotations

import re


def validate_credit_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        raise ValueError("expected 18 characters of the GB 32100 alphabet")
    return code
