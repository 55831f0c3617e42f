"""Shared helpers for the simulator tests."""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from typing import Any

import pytest

from hil_sim.scenario import SCENARIO_DIR, Scenario, parse_scenario

# Every async test runs on its own fresh event loop with a guard, so a hung device
# fails the test instead of hanging the suite.
ASYNC_GUARD_S = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), ASYNC_GUARD_S))
    return True


def scenario_with(name: str, **changes: Any) -> Scenario:
    """A shipped scenario with top-level keys replaced (e.g. ``faults=[...]``)."""
    raw = tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    raw.update(changes)
    return parse_scenario(raw, name)


@pytest.fixture(autouse=True)
def english() -> Any:
    """Tests assert English text; restore the language afterwards."""
    from permits.i18n import get_language, set_language

    before = get_language()
    set_language("en")
    yield
    set_language(before)
