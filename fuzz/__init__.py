"""Coverage-guided fuzzing (atheris / libFuzzer) of every parser and of the atmosphere
check's input. ``python -m fuzz --seconds N [--target NAME]`` runs each harness in its
own process for N seconds on a scratch copy of the seed corpus in ``fuzz/corpus/``.

The harnesses live in :mod:`fuzz.targets` (plain functions, importable without atheris);
:mod:`fuzz.harness` wraps one in libFuzzer. A finding is any exception other than the
parser's own typed refusal, or a broken invariant (an ``AssertionError``)."""

from __future__ import annotations

TARGETS = (
    "gasl",
    "winsen",
    "modbus_gt4",
    "ess",
    "atmosphere",
    "event",
    "export",
)
