"""Open a detector session from what the guardian types or scans.

``spec`` forms: a serial device or pyserial URL (``/dev/ttyUSB0``,
``socket://10.0.0.5:4001``) read with ``protocol`` (``gasl``, ``winsen-uart``
or ``modbus-gt4``), or ``ble:<address>`` for a Bluetooth LE detector.
"""

from __future__ import annotations

from typing import Any

from sensor_drivers import DetectorSession
from tablet_app.i18n import _

PROTOCOLS = ("gasl", "winsen-uart", "modbus-gt4")


def open_session(spec: str, protocol: str = "gasl", **kw: Any) -> DetectorSession:
    spec = spec.strip()
    if not spec:
        raise ValueError(_("detector: expected a port, a socket:// address or ble:<address>"))
    if spec.startswith("ble:"):
        return DetectorSession.ble(spec[4:], **kw)
    if protocol not in PROTOCOLS:
        raise ValueError(
            _("detector protocol: expected one of {known}, got {got}").format(
                known=", ".join(PROTOCOLS), got=protocol
            )
        )
    if protocol == "modbus-gt4":
        return DetectorSession.modbus(spec, **kw)
    return DetectorSession.serial(spec, protocol=protocol, **kw)
