"""The pieces under the pages without a server: the readings chunk reader against the
tablet's own encoder, the PDF's font check, and that every page string is translated."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from permits.readings import Channel, Reading, Unit
from sync_server.pdf import PdfFontMissing, render
from sync_server.services import readings

ROOT = Path(__file__).resolve().parents[2]


def test_reads_the_tablets_columnar_chunks() -> None:
    from permits.chunks import encode_chunk

    t0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    sent = [
        Reading(
            device_serial="GASL-4-0001",
            channel=Channel.H2S if i % 2 else Channel.O2,
            value=(1.5 * i) if i % 2 else 20.9,
            unit=Unit.PPM if i % 2 else Unit.VOL,
            received_at=t0 + timedelta(seconds=i),
        )
        for i in range(20)
    ]
    points = readings.decode(encode_chunk(sent))
    assert [(p.channel, p.value, p.unit, p.at) for p in points] == [
        (r.channel.value, r.value, r.unit.value, r.received_at) for r in sent
    ]


def test_a_corrupt_chunk_is_reported_not_guessed() -> None:
    with pytest.raises(readings.ChunkUnreadable):
        readings.decode(b"CSRC1\x05\x00\x00\x00{bad}")
    with pytest.raises(readings.ChunkUnreadable):
        readings.decode(b"not a chunk at all")


def test_a_missing_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPERMIT_PDF_FONT", "/nonexistent/wqy-microhei.ttc")
    with pytest.raises(PdfFontMissing, match="fonts-wqy-microhei"):
        render({}, generated_by="test")


def test_every_page_string_has_a_chinese_translation() -> None:
    catalogue: dict[str, str] = {}
    for po in (ROOT / "sync_server/locale/zh_CN/LC_MESSAGES").glob("*.po"):
        with po.open("rb") as f:
            catalogue.update({m.id: m.string for m in read_po(f) if m.id})
    pattern = re.compile(r"""\b(?:_|N_)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
    missing = []
    files = [*(ROOT / "sync_server/web").rglob("*.py"), *(ROOT / "sync_server/web").rglob("*.html")]
    for path in files:
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            msgid = m.group(1) if m.group(1) is not None else m.group(2)
            if not catalogue.get(msgid):
                missing.append((path.name, msgid))
    assert missing == []


def test_chart_library_is_vendored_with_licence_and_version() -> None:
    vendor = ROOT / "sync_server/web/static/vendor/chartjs"
    assert "Chart.js v4.6.1" in (vendor / "chart.umd.min.js").read_text()[:200]
    assert "MIT License" in (vendor / "LICENSE").read_text()
    source = (vendor / "SOURCE.md").read_text()
    assert "`chart.js`" in source and "4.6.1" in source


def test_chart_decimation_keeps_peaks_and_dips() -> None:
    from sync_server.services.trace import decimate

    points = [[i * 1000, 20.9] for i in range(29_000)]
    points[12_345][1] = 35.0  # one second of H2S-like spike
    points[20_001][1] = 17.2  # one second of oxygen dip
    out = decimate(points, 2000)
    assert len(out) <= 2000
    values = [p[1] for p in out]
    assert 35.0 in values and 17.2 in values
    assert [p[0] for p in out] == sorted(p[0] for p in out)
    assert decimate(points[:50], 2000) == points[:50]
