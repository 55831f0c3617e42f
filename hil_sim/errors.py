"""The simulator's one exception root.

::

    SimError (code: SimErrorCode)
     ├── ScenarioError   a scenario file that does not load or validate (names the key)
     └── DeviceError     a simulated device that cannot start (pty, port, backend)
"""

from __future__ import annotations

from enum import StrEnum

from hil_sim.i18n import gettext as _


class SimErrorCode(StrEnum):
    SCENARIO_NOT_FOUND = "SCENARIO_NOT_FOUND"
    SCENARIO_SYNTAX = "SCENARIO_SYNTAX"
    SCENARIO_INVALID = "SCENARIO_INVALID"
    DEVICE_START_FAILED = "DEVICE_START_FAILED"
    UNKNOWN_DEVICE = "UNKNOWN_DEVICE"


def _messages() -> dict[SimErrorCode, str]:
    return {
        SimErrorCode.SCENARIO_NOT_FOUND: _("scenario not found"),
        SimErrorCode.SCENARIO_SYNTAX: _("scenario file is not valid TOML"),
        SimErrorCode.SCENARIO_INVALID: _("scenario file is invalid"),
        SimErrorCode.DEVICE_START_FAILED: _("simulated device could not start"),
        SimErrorCode.UNKNOWN_DEVICE: _("no such simulated device"),
    }


class SimError(Exception):
    def __init__(self, code: SimErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(self.message())

    def message(self) -> str:
        text = _messages()[self.code]
        return f"{text}: {self.detail}" if self.detail else text


class ScenarioError(SimError):
    """``problems`` lists every bad key as ``(path, message)``, e.g.
    ``("detectors[2].transport", "expected one of pty, socket, ble")``."""

    def __init__(
        self, code: SimErrorCode, detail: str = "", problems: list[tuple[str, str]] | None = None
    ) -> None:
        self.problems = problems or []
        super().__init__(code, detail)


class DeviceError(SimError):
    pass
