"""`cspermit sim`: the real command in a subprocess, read by third-party clients."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import minimalmodbus
import pytest
import serial
from typer.testing import CliRunner

from cspermit.cli import app
from sensor_drivers.protocols import Frame, gasl, modbus_gt4, winsen


def test_scenarios_lists_the_shipped_four() -> None:
    result = CliRunner().invoke(app, ["sim", "scenarios", "--json"])
    assert result.exit_code == 0
    names = [json.loads(line)["name"] for line in result.output.splitlines()]
    assert names == ["cement-silo", "molasses-tank", "nitrogen-purged-vessel", "sewage-pit"]


def test_bad_scenario_exits_2_naming_it() -> None:
    result = CliRunner().invoke(app, ["sim", "run", "no-such-place"])
    assert result.exit_code == 2
    assert "no-such-place" in result.output


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], dict[str, dict]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cspermit.cli", "sim", "run", "molasses-tank", "--speed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CSPERMIT_LANG": "en"},
    )
    devices: dict[str, dict] = {}
    try:
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            item = json.loads(line)
            if item.get("status") == "running":
                break
            devices[item["detector"]] = item
        yield proc, devices
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_run_prints_endpoints_and_third_party_clients_read_them(
    running: tuple[subprocess.Popen[str], dict[str, dict]],
) -> None:
    proc, devices = running
    assert set(devices) == {"gt4-bottom", "gasl-serial", "gasl-ble", "winsen-h2s"}
    assert devices["gasl-ble"]["ble_name"] == "GASL-3C5E"
    assert devices["gt4-bottom"]["protocol"] == "modbus-gt4"

    # minimalmodbus against the Modbus port
    port = serial.serial_for_url(devices["gt4-bottom"]["port"], baudrate=9600, timeout=1)
    try:
        regs = minimalmodbus.Instrument(port, 1).read_registers(0, 0x30)
    finally:
        port.close()
    header, frame = modbus_gt4.decode_image(regs)
    assert header.channel_count == 4
    h2s = {cv.channel.value: cv.value for cv in frame.values}["H2S"]
    assert h2s > 7  # the bottom of the tank before ventilation

    # a plain serial.Serial reader against the gasl and winsen ptys
    with serial.Serial(devices["gasl-serial"]["port"], 9600, timeout=0.5) as g:
        deadline = time.monotonic() + 5
        data = b""
        while time.monotonic() < deadline and data.count(b"\n") < 2:
            data += g.read(512)
    assert [m for m in gasl.LineDecoder().feed(data) if isinstance(m, Frame)]
    with serial.Serial(devices["winsen-h2s"]["port"], 9600, timeout=0.5) as w:
        deadline = time.monotonic() + 5
        raw = b""
        while time.monotonic() < deadline and len(raw) < 18:
            raw += w.read(64)
    assert [m for m in winsen.FrameDecoder().feed(raw) if isinstance(m, Frame)]

    # SIGTERM: a clean exit
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert proc.stdout is not None
    assert json.loads(proc.stdout.read().strip().splitlines()[-1])["status"] == "stopped"


def test_run_ends_with_the_scenario_duration() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cspermit.cli",
            "sim",
            "run",
            "sewage-pit",
            "--speed",
            "400",
            "--duration",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["status"] == "stopped" and last["elapsed_s"] >= 120


def test_docs_cover_every_command_fault_and_scenario() -> None:
    from pathlib import Path

    from cspermit.cli import sim
    from hil_sim.scenario import FaultKind, list_scenarios

    docs = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    names = [c.name or c.callback.__name__ for c in sim.app.registered_commands if c.callback]
    assert sorted(names) == ["run", "scenarios"]
    for name in names:
        assert f"cspermit sim {name}" in docs, name
    for kind in FaultKind:
        assert f"| `{kind.value}` |" in docs, kind
    for scenario in list_scenarios():
        assert f"`{scenario}`" in docs, scenario
