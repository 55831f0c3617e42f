"""Hot-work chains for the server's tests, built with the core's ``HotWorkSession``
and signed by an enrolled tablet's key (the builders of tests/permits/test_hot_work.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from permits.events import SignOffMeaning, new_event
from permits.hot_work import HotWorkSession
from permits.hot_work.events import (
    HotWorkClosed,
    HotWorkDone,
    HotWorkFireStarted,
    HotWorkFireWatchEnded,
    HotWorkFireWatchStarted,
    HotWorkWatchConfirmed,
    LinkedPermitSnapshot,
)
from permits.integrity import DeviceKey, seal
from tests.permits.test_hot_work import T0, analysis, approval, rostered_session, start_fire

# A past Wednesday morning (a working day: 08:00-12:00 raises no level).
START = T0 - timedelta(days=7)


def closed_job(key: DeviceKey, enterprise_id: str = "ent-a", **draft: Any) -> HotWorkSession:
    """A whole job, by the rules: analysis, fire, done, a 30 min fire watch, closed."""
    s = rostered_session(key, start=START, enterprise_id=enterprise_id, **draft)
    at = START - timedelta(minutes=40)
    s.record(approval(s, at), at, actor="P-SAFE")
    s.record(analysis(START - timedelta(minutes=10)), START - timedelta(minutes=9), actor="P-GAS")
    start_fire(s, START)
    done = START + timedelta(hours=2)
    s.record(HotWorkDone(), done, actor="P-WELD")
    watch = done + timedelta(minutes=1)
    guard = SignOffMeaning.GUARD
    s.record(
        HotWorkFireWatchStarted(watcher=s.signoff("P-WATCH", guard, watch)), watch, actor="P-WATCH"
    )
    mid = watch + timedelta(minutes=15)
    s.record(HotWorkWatchConfirmed(watcher=s.signoff("P-WATCH", guard, mid)), mid, actor="P-WATCH")
    end = watch + timedelta(minutes=30)
    close = SignOffMeaning.CLOSE
    s.record(
        HotWorkFireWatchEnded(watcher=s.signoff("P-WATCH", close, end), no_residual_fire=True),
        end,
        actor="P-WATCH",
    )
    s.record(HotWorkClosed(signoff=s.signoff("P-LEAD", close, end)), end, actor="P-LEAD")
    return s


def forged_fire(
    s: HotWorkSession,
    key: DeviceKey,
    at: datetime,
    watcher: str = "P-WATCH",
    linked: LinkedPermitSnapshot | None = None,
) -> None:
    """A fire start written without the rules (a tampered or buggy device)."""
    ev = new_event(
        HotWorkFireStarted(watcher=s.signoff(watcher, SignOffMeaning.GUARD, at), linked=linked),
        permit_id=s.state.permit_id or "HW-1",
        seq=s.state.seq + 1,
        actor="P-WELD",
        device_id=key.device_id,
        occurred_at=at,
    )
    sealed = seal(ev, s.state.head_hash, key)
    s.events.append(sealed)
    s.state = s.fold_one(s.state, sealed)


def bodies(s: HotWorkSession) -> list[dict[str, Any]]:
    return [e.to_json() for e in s.events]
