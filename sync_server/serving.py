"""The process a server worker runs in, tuned for serving (docs/performance.md, wave 9).

Python's cyclic garbage collector runs a young-generation pass every 700 net
allocations by default; a push of 200 events allocates hundreds of thousands of
short-lived objects (each event's model, its replay state), so the passes, and the
older-generation passes they trigger, walked the worker's whole heap many times a
push. The objects made at start-up (modules, the app, its routes and models) are never
garbage: they are frozen out of every pass, and the young generation is collected
less often. Memory is not at stake: nearly every object is freed by its reference
count as it goes, the collector only finds cycles, and it still runs."""

from __future__ import annotations

import gc

from fastapi import FastAPI

# Young-generation threshold while serving (Python's default is 700); see the module's
# doc. Measured over HTTP, one worker, 22,059 events pushed serially: 263 and 273 µs of
# the worker's CPU an event untuned, 256 and 232 with this (docs/performance.md, wave 9).
SERVING_GEN0 = 10_000


def tune_for_serving() -> None:
    """Freeze what start-up made and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(SERVING_GEN0, gen1, gen2)


def served_app() -> FastAPI:
    """The app as each of several workers builds it (uvicorn's factory), tuned."""
    from sync_server.app import create_app

    app = create_app()
    tune_for_serving()
    return app
