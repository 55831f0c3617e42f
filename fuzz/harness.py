"""One harness under libFuzzer: ``python -m fuzz.harness NAME [libFuzzer flags] DIRS``.

The parsers and the permit core are imported under atheris' instrumentation so that
libFuzzer sees their branches (coverage-guided, not random bytes)."""

from __future__ import annotations

import sys

import atheris


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: python -m fuzz.harness NAME [libFuzzer args]")
    name = argv[1]
    with atheris.instrument_imports(include=["permits", "sensor_drivers", "fuzz"]):
        from fuzz.targets import HARNESSES
    if name not in HARNESSES:
        sys.exit(f"unknown target {name!r}; one of {', '.join(HARNESSES)}")
    target = HARNESSES[name]
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
