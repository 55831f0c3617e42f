"""Readings chunks: lossless, small on the wire, hashed into the chain (the CSRC2
layout's own properties are in test_chunk_layout.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cspermit.demo import molasses_tank as demo
from permits.chunks import ChunkError, chunk_hash, decode_chunk, encode_chunk
from permits.readings import Channel, Reading, StatusFlag, Unit
from tablet_app.chunks import CHUNK_SPAN
from tablet_app.presenters.board import BoardPresenter
from tablet_app.presenters.closeout import CloseoutPresenter

from .test_presenters import ready
from .world import PINS, World, make_world

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def _minute(h2s: float = 0.0) -> list[Reading]:
    out = []
    for s in range(60):
        for ch, v, u in (
            (Channel.O2, 20.9, Unit.VOL),
            (Channel.LEL, 0.0, Unit.LEL),
            (Channel.H2S, h2s, Unit.PPM),
            (Channel.CO, 0.0, Unit.PPM),
        ):
            out.append(Reading("GASL-1", ch, v, u, received_at=T0 + timedelta(seconds=s)))
    return out


def test_a_steady_minute_costs_under_two_bytes_per_value() -> None:
    readings = _minute()
    data = encode_chunk(readings)
    assert len(data) / len(readings) < 2.0
    assert decode_chunk(data) == readings


values = st.floats(min_value=0, max_value=1e5, allow_nan=False, width=32)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**7),
            st.sampled_from(
                [(Channel.O2, Unit.VOL), (Channel.H2S, Unit.PPM), (Channel.LEL, Unit.LEL)]
            ),
            values,
            st.frozensets(st.sampled_from(list(StatusFlag))),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_round_trip_keeps_time_channel_value_and_flags(rows: list) -> None:  # type: ignore[type-arg]
    readings = [
        Reading(
            "D",
            ch,
            float(str(np.float32(v))),  # what a float32 column can hold
            u,
            status=flags,
            received_at=T0 + timedelta(milliseconds=ms),
        )
        for ms, (ch, u), v, flags in rows
    ]
    back = decode_chunk(encode_chunk(readings))
    assert sorted(back, key=lambda r: (r.received_at, r.channel, r.value)) == sorted(
        readings, key=lambda r: (r.received_at, r.channel, r.value)
    )


def test_corrupt_or_foreign_bytes_are_refused() -> None:
    data = encode_chunk(_minute())
    with pytest.raises(ChunkError):
        decode_chunk(b"PNG" + data)
    with pytest.raises(ChunkError):
        decode_chunk(data[:-5])
    with pytest.raises(ChunkError):
        encode_chunk([])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.store.close()


def inside(world: World) -> BoardPresenter:
    """Readings confirmed, an entrant inside, the board's first tick (the first seal)."""
    atmo, board, _setup = ready(world)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    board.tick()
    return board


def test_the_board_seals_each_span_into_the_chain(world: World) -> None:
    board = inside(world)  # and the first seal made
    world.air(int(CHUNK_SPAN.total_seconds()) - 10)
    board.tick()  # not due yet: nothing sealed
    assert len(world.desk.state(world.context.permit_id).chunks) == 1
    world.air(20)
    board.tick()
    state = world.desk.state(world.context.permit_id)
    assert len(state.chunks) == 2
    for digest in state.chunks:
        data = world.store.chunk(digest)
        assert data is not None and chunk_hash(data) == digest
        assert {r.device_serial for r in decode_chunk(data)} == {demo.DETECTOR.serial}
    assert world.store.unacked_chunks() == list(state.chunks)
    assert isinstance(board, BoardPresenter)


def test_an_alarm_seals_the_readings_that_led_to_it_at_once(world: World) -> None:
    board = inside(world)  # and the first seal made
    world.air(30)
    world.air(5, h2s=9.0)
    assert board.tick()  # the alarm is raised, and the chunk sealed with it
    state = world.desk.state(world.context.permit_id)
    assert len(state.chunks) == 2
    data = world.store.chunk(state.chunks[-1])
    assert data is not None
    assert max(r.value for r in decode_chunk(data) if r.channel is Channel.H2S) == 9.0
    world.air(5, h2s=9.0)
    assert board.tick() == []  # the same alarm: no new seal before the span is out
    assert len(world.desk.state(world.context.permit_id).chunks) == 2


def test_closing_seals_the_readings_since_the_last_chunk(world: World) -> None:
    # Chunks are sealed every few minutes; the readings after the last seal must reach
    # the chain before the permit closes, whichever screen records the close.
    board = inside(world)  # and the first seal made
    world.air(90)  # well inside the span: nothing due
    board.tick()
    assert len(world.desk.state(world.context.permit_id).chunks) == 1
    assert board.exit(demo.ENTRANT_A).ok
    close = CloseoutPresenter(world.context, world.desk)
    assert close.start_closing().ok, close.last.lines()
    state = world.desk.state(world.context.permit_id)
    assert len(state.chunks) == 2
    data = world.store.chunk(state.chunks[-1])
    assert data is not None
    sealed = [r.received_at for r in decode_chunk(data)]
    assert len(sealed) >= 80 * 4  # the 90 s of four channels after the first seal
    types = [e.type.value for e in world.desk.session(world.context.permit_id).events]
    assert types[-2:] == ["readings_chunk_recorded", "closing_started"]
