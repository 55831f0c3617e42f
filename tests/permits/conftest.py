"""Fixtures for the permit chain tests: device keys and the example permit
(a molasses tank, ``cspermit.demo.molasses_tank``) stopped right before entry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from cspermit.demo.molasses_tank import DEVICE_ID, START, ready_to_enter
from permits.commands import PermitSession
from permits.i18n import get_language, set_language
from permits.integrity import DeviceKey

# The instant the example permit is ready for entry (see ready_to_enter).
ENTRY_AT: datetime = START + timedelta(minutes=50)


@pytest.fixture
def key() -> DeviceKey:
    return DeviceKey.generate(DEVICE_ID)


@pytest.fixture
def keys(key: DeviceKey) -> dict[str, str]:
    return {key.device_id: key.public_b64()}


@pytest.fixture
def ready(key: DeviceKey) -> PermitSession:
    return ready_to_enter(key)


@pytest.fixture
def english() -> Iterator[None]:
    previous = get_language()
    set_language("en")
    try:
        yield
    finally:
        set_language(previous)
