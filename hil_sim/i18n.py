"""Translation for the simulator's user-facing text (domain ``hil_sim``)."""

from __future__ import annotations

from pathlib import Path

from permits.i18n import make_gettext

gettext = make_gettext("hil_sim", Path(__file__).parent / "locale")
