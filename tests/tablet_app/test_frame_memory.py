"""The board streaming four detectors does not pile up memory in a software GL
(tablet_app/software_gl.py): without finishing each frame, llvmpipe's queued scenes held
30-120 MB more after the board's first seconds.

The real app runs headless in a subprocess: Kivy keeps one window per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tablet_app.software_gl import is_software
from tests.tablet_app.world import run_app_process

SCRIPT = r"""
import asyncio, ctypes, json, tempfile
from pathlib import Path
from tablet_app.env import prepare_environment

prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
from bench import tablet
from cspermit.demo.drive import ScriptedApp, run_scripted
from tablet_app.software_gl import renderer


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2


def in_use_mb():  # what the process has malloc'd and not freed (Mesa's scenes among it)
    return libc.mallinfo2().uordblks / 2**20


clock = tablet.WallClock()
work = Path(tempfile.mkdtemp(prefix="cspermit-frames-"))
context, _desk, _feed, _board = tablet.active_permit(work / "tablet.db", clock)
report = {}

async def script(app):
    stream = tablet.Stream(app.feed, clock)
    stream.once()
    app.judging = True
    app.go("board")
    await asyncio.sleep(0)
    before = in_use_mb()
    for _ in range(4):
        stream.once()
        await asyncio.sleep(1.0)
    report.update(
        grown_mb=in_use_mb() - before,
        renderer=renderer(),
        finishes=app.finishes_frames,
        tiles=len(app.screens["board"].ids.tiles.children),
    )

ScriptedApp.judging = False
asyncio.run(run_scripted(context, script))
context.store.close()
print(json.dumps(report))
"""


def test_the_board_streaming_does_not_pile_up_frames_in_a_software_gl(tmp_path: Path) -> None:
    report, code = run_app_process(["-c", SCRIPT], tmp_path, 240)
    assert code == 0 and report["tiles"] == 4
    assert report["finishes"] == is_software(report["renderer"])
    if not report["finishes"]:
        pytest.skip(f"{report['renderer']} is no software rasterizer: no frame queue to bound")
    assert report["grown_mb"] < 15, report


def test_only_software_rasterizers_wait_for_each_frame() -> None:
    assert is_software("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert is_software("Google SwiftShader")
    assert not is_software("Mali-G52 MC2")
    assert not is_software("Adreno (TM) 618")
