"""Translation for the drivers' user-facing text (domain ``sensor_drivers``)."""

from __future__ import annotations

from pathlib import Path

from permits.i18n import make_gettext

gettext = make_gettext("sensor_drivers", Path(__file__).parent / "locale")
