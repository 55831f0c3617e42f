"""Finding a detector: serial ports, simulated detectors and a Bluetooth LE scan.

Kivy-free. Serial ports come from pyserial's port list; the simulator's detectors
(``cspermit sim run`` prints one JSON line per detector, ``scripts/run.sh`` saves
them and points ``CSPERMIT_SIM_ENDPOINTS`` at the file) appear in the same list,
marked simulated; BLE detectors come from ``sensor_drivers.ble.scan``. Choosing one
gives the ``spec`` and protocol the detector link opens.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tablet_app.i18n import _

SIM_ENDPOINTS_ENV = "CSPERMIT_SIM_ENDPOINTS"


@dataclass(frozen=True)
class FoundDetector:
    spec: str  # what the detector link opens: a port, socket://…, ble:<address>
    protocol: str
    label: str


def serial_ports() -> list[FoundDetector]:
    from serial.tools import list_ports

    return [
        FoundDetector(p.device, "gasl", f"{p.device} · {p.description or _('serial port')}")
        for p in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


def simulated(path: str | Path | None = None) -> list[FoundDetector]:
    """The simulator's byte-stream detectors (ptys, sockets) from its JSON lines."""
    where = path or os.environ.get(SIM_ENDPOINTS_ENV)
    if not where or not Path(where).is_file():
        return []
    out = []
    for line in Path(where).read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict) or not row.get("port") or "serial" not in row:
            continue  # BLE peripherals live inside the simulator's process
        out.append(
            FoundDetector(
                str(row["port"]),
                str(row.get("protocol", "gasl")),
                _("{serial} (simulated, {protocol}) at {port}").format(
                    serial=row["serial"], protocol=row.get("protocol"), port=row["port"]
                ),
            )
        )
    return out


class DetectorFinder:
    def __init__(self, sim_endpoints: str | Path | None = None, ble_backend: Any = None) -> None:
        self.sim_endpoints = sim_endpoints
        self.ble_backend = ble_backend
        self.found: list[FoundDetector] = []
        self.message = ""

    def list_wired(self) -> list[FoundDetector]:
        self.found = simulated(self.sim_endpoints) + serial_ports()
        self.message = "" if self.found else _("No serial port found: plug in the detector's cable")
        return self.found

    async def scan_ble(self, timeout_s: float = 5.0) -> list[FoundDetector]:
        """Add the BLE detectors in range; no adapter is a message, not a crash."""
        from sensor_drivers.ble import scan
        from sensor_drivers.errors import DriverError

        try:
            found = await scan(timeout=timeout_s, backend=self.ble_backend)
        except DriverError as exc:
            self.message = _("Bluetooth scan failed: {error}").format(error=exc)
            return []
        ble = [
            FoundDetector(
                f"ble:{d.address}",
                d.protocols[0] if d.protocols else "gasl",
                f"{d.name or d.address} · BLE · {d.rssi} dBm",
            )
            for d in found
        ]
        self.found = [f for f in self.found if not f.spec.startswith("ble:")] + ble
        self.message = "" if ble else _("No Bluetooth detector in range")
        return ble
