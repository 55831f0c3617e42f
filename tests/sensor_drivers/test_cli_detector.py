"""`cspermit detector decode|read|scan` through a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from permits.readings import Channel, StatusFlag, Unit
from sensor_drivers.protocols import ChannelValue, gasl, modbus_gt4

from .stubs import pty_device
from .test_modbus_e2e import ModbusDevice
from .vectors import FRAMES, load

ROOT = Path(__file__).resolve().parents[2]


def cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, "CSPERMIT_LANG": "en", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "detector", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=full_env,
        timeout=60,
    )


def lines(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_decode_gasl_capture_matches_every_vector() -> None:
    vectors = load("gasl")
    capture = b"".join(v["line"].encode() for v in vectors)
    result = cli("decode", "--protocol", "gasl", stdin=capture)
    assert result.returncode == 1  # one rejected frame
    objs = lines(result.stdout)
    assert len(objs) == len(vectors)
    for obj, vector in zip(objs, vectors, strict=True):
        if not vector["valid"]:
            assert obj["error"] == "BAD_CHECKSUM"
            continue
        assert obj["readings"] == vector["readings"]
        assert (obj["seq"], obj["battery"]) == (vector["seq"], vector["battery"])
    assert objs[1]["status"] == ["alarm_low"] and objs[2]["status"] == ["warmup"]
    assert objs[0]["uptime_ms"] == 1000


def test_decode_winsen_hex_capture_with_full_scale() -> None:
    vectors = load("winsen-uart")
    text = "\n".join(v["hex"] for v in vectors).encode()
    result = cli("decode", "--protocol", "winsen-uart", "--hex", stdin=text)
    objs = lines(result.stdout)
    assert [o.get("error") for o in objs] == [None, None, None, "BAD_CHECKSUM"]
    assert objs[0] == {
        "readings": [{"channel": "H2S", "value": 5.7, "unit": "ppm"}],
        "full_scale": 100.0,
    }
    assert result.returncode == 1


def test_decode_ess_reports_kg_m3_and_ppm_and_rejects_nan() -> None:
    result = cli("decode", "--protocol", "ess:2bd0", "--hex", stdin=b"98 91 ff 07")
    first, second = lines(result.stdout)
    assert first["kg_m3"] == pytest.approx(4.08e-5)
    assert first["readings"][0]["channel"] == "CO"
    assert first["readings"][0]["value"] == pytest.approx(35.04, abs=0.01)
    assert first["readings"][0]["unit"] == "ppm"
    assert second["error"] == "VALUE_NOT_AVAILABLE"
    co2 = cli("decode", "--protocol", "ess:2b8c", stdin=bytes.fromhex("b004"))
    assert lines(co2.stdout)[0]["readings"] == [{"channel": "CO2", "value": 1200.0, "unit": "ppm"}]
    assert co2.returncode == 0


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (("--protocol", "nmea"), b"", "--protocol must be"),
        (("--protocol", "gasl", "--hex"), b"zz", "--hex input"),
        (("--protocol", "ess:1234"), b"", "unknown ESS characteristic"),
    ],
)
def test_decode_bad_arguments_exit_2_with_a_message(
    args: tuple[str, ...], stdin: bytes, needle: str
) -> None:
    result = cli("decode", *args, stdin=stdin)
    assert result.returncode == 2
    assert needle in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_read_gasl_from_a_pty_as_json_lines() -> None:
    with pty_device() as dev:
        stop = threading.Event()

        def device() -> None:
            seq = 0
            values = [
                ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
                ChannelValue(Channel.CO, 12, Unit.PPM, decimals=0),
            ]
            while not stop.wait(0.05):  # pyserial flushes input on open: keep streaming
                seq += 1
                dev.write(gasl.encode_line(seq, seq * 100, values, 55, 0x10))

        thread = threading.Thread(target=device, daemon=True)
        thread.start()
        try:
            result = cli("read", "--protocol", "gasl", "--port", dev.path, "--count", "3", "--json")
        finally:
            stop.set()
            thread.join(2)
    assert result.returncode == 0, result.stderr.decode()
    readings = [o for o in lines(result.stdout) if "channel" in o and "value" in o]
    assert len(readings) == 3
    assert {r["channel"] for r in readings} == {"O2", "CO"}
    assert all(
        r["device_status"] == ["alarm_low"] and r["status"] == ["alarm_low"] for r in readings
    )


def test_read_modbus_gt4_through_pymodbus() -> None:
    regs = modbus_gt4.register_image(
        [ChannelValue(Channel.H2S, 4.5, Unit.PPM, frozenset({StatusFlag.WARMUP}), decimals=1)],
    )
    dev = ModbusDevice(regs)
    try:
        result = cli(
            "read",
            "--protocol",
            "modbus-gt4",
            "--port",
            dev.bridge.driver_path,
            "--count",
            "1",
            "--json",
        )
    finally:
        dev.close()
    assert result.returncode == 0, result.stderr.decode()
    (reading,) = [o for o in lines(result.stdout) if "value" in o]
    assert (reading["channel"], reading["value"], reading["unit"]) == ("H2S", 4.5, "ppm")
    assert reading["channel_status"] == ["warmup"] and reading["device_status"] == []


def test_read_missing_port_is_a_clear_error() -> None:
    result = cli(
        "read", "--protocol", "gasl", "--port", "/dev/nonexistent-cspermit", "--count", "1"
    )
    assert result.returncode == 2
    assert "serial port cannot be opened" in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_scan_without_a_bluetooth_adapter_exits_3() -> None:
    # Point BlueZ's D-Bus at nothing, so the result does not depend on this machine.
    env = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/cspermit-bus"}
    result = cli("scan", "--timeout", "0.5", env=env)
    assert result.returncode == 3
    assert result.stderr.decode().strip() == "no Bluetooth adapter found"
    assert b"Traceback" not in result.stderr


def test_every_driver_message_has_a_chinese_translation() -> None:
    from babel.messages.pofile import read_po

    po = ROOT / "sensor_drivers/locale/zh_CN/LC_MESSAGES/drivers.po"
    with po.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string}
    sources = [*(ROOT / "sensor_drivers").rglob("*.py"), ROOT / "cspermit/cli/detector.py"]
    used = set()
    for path in sources:
        used |= set(re.findall(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)', path.read_text()))
    assert used, "found no translatable strings at all"
    assert used - translated == set()


def test_vectors_copied_into_the_project() -> None:
    assert {p.name for p in FRAMES.glob("*.json")} == {"gasl.json", "winsen-uart.json", "ess.json"}


def test_every_detector_command_is_documented() -> None:
    from cspermit.cli.detector import app

    docs = (ROOT / "docs/protocols.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    assert sorted(names) == ["decode", "read", "scan"]
    for name in names:
        assert f"cspermit detector {name}" in docs, name


def test_vendor_map_without_its_sensor_is_refused_before_the_port_opens() -> None:
    result = cli(
        "read", "--protocol", "modbus-gt4", "--map", "honeywell-xnx", "--port", "/dev/null"
    )
    assert result.returncode == 2
    assert "needs the fitted sensor" in result.stderr.decode()
