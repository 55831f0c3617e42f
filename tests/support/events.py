"""The golden demo permit's events (``cspermit.demo.molasses_tank``), for tests that
tamper with one event's JSON and expect the core to refuse it."""

from __future__ import annotations

from typing import Any

from cspermit.demo import molasses_tank as demo
from permits.integrity import DeviceKey


def first_event() -> dict[str, Any]:
    """The demo permit's ``drafted`` event as JSON, signed by a fresh device key."""
    return demo.demo_session(DeviceKey.generate(demo.DEVICE_ID)).events[0].to_json()
