"""Write the seed corpus ``fuzz/corpus/<target>/`` from the project's test data:
``python -m fuzz.seeds``. The seeds are committed; rerun after the test data changes.

Sources: ``tests/data/protocol-frames`` (gasl lines, winsen and ESS bytes),
``tests/data/atmosphere`` (pre-entry tests), ``tests/data/permits/demo-chain.json``
(a signed 44-event chain) and register images made by the GT4 encoder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from permits.readings import Channel, Unit
from sensor_drivers.protocols import ess, modbus_gt4
from sensor_drivers.protocols._common import ChannelValue

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = Path(__file__).resolve().parent / "corpus"


def _write(target: str, blob: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


def _frames(name: str) -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads(
        (DATA / "protocol-frames" / name).read_text("utf-8")
    )
    return loaded


def _registers_bytes(regs: list[int]) -> bytes:
    return b"".join(r.to_bytes(2, "big") for r in regs)


def build() -> dict[str, int]:
    gasl_lines = [str(f["line"]).encode() for f in _frames("gasl.json")]
    for line in gasl_lines:
        _write("gasl", line)
    _write("gasl", b"noise" + b"".join(gasl_lines))
    winsen_frames = [bytes.fromhex(str(f["hex"])) for f in _frames("winsen-uart.json")]
    for frame in winsen_frames:
        _write("winsen", frame)
    _write("winsen", b"\x00\xff\x12" + b"".join(winsen_frames))
    uuids = [*sorted(ess.CHARACTERISTICS), "2a6e", "not-a-uuid"]
    for f in _frames("ess.json"):
        index = uuids.index(ess.normalize_uuid(str(f["uuid"])))
        _write("ess", bytes([index]) + bytes.fromhex(str(f["hex"])))
    image = modbus_gt4.register_image(
        [
            ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
            ChannelValue(Channel.H2S, 1.5, Unit.PPM, decimals=1),
            ChannelValue(Channel.LEL, 0, Unit.LEL, gas="CH4", decimals=0),
        ],
        firmware=0x0102,
    )
    _write("modbus_gt4", _registers_bytes(image))
    maps = list(modbus_gt4.vendor_maps().values())
    for i, vmap in enumerate(maps):
        regs = modbus_gt4.vendor_image(vmap, 12.5)
        _write("modbus_gt4", bytes([i]) + _registers_bytes(regs))
    for path in sorted((DATA / "atmosphere").glob("*.json")):
        _write("atmosphere", path.read_bytes())
    chain = json.loads((DATA / "permits" / "demo-chain.json").read_text("utf-8"))
    _write("export", json.dumps(chain).encode())
    _write("export", json.dumps({**chain, "events": chain["events"][:3]}).encode())
    for event in chain["events"][:12]:
        _write("event", json.dumps(event, ensure_ascii=False).encode())
    return {p.name: len(list(p.iterdir())) for p in sorted(CORPUS.iterdir())}


if __name__ == "__main__":
    for target, n in build().items():
        print(f"{target}: {n} seeds")
