"""The issue's acceptance walk, in real headless Chromium: a reviewer who has never seen
the system signs in, finds the permit with an alarm, sees who was inside and what the
gas did, and downloads the permit PDF whose text carries the Chinese permit fields."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import SCREENSHOTS, DemoServer, browser_sign_in

pytestmark = pytest.mark.browser


def _chart_drawn(page: Any, canvas_id: str) -> dict[str, Any]:
    """Chart.js owns the canvas and has painted coloured pixels on it."""
    result: dict[str, Any] = page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const chart = Chart.getChart(canvas);
            const ctx = canvas.getContext('2d');
            const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 0; i < px.length; i += 4) { if (px[i + 3] > 0) painted++; }
            return {chart: !!chart, datasets: chart ? chart.data.datasets.length : 0,
                    width: canvas.width, painted: painted,
                    labels: chart ? chart.data.datasets.map(d => d.label) : []};
        }""",
        canvas_id,
    )
    return result


def test_reviewer_traces_the_alarm_and_downloads_the_pdf(
    page: Any, demo_server: DemoServer, tmp_path: Path
) -> None:
    base = demo_server.url
    browser_sign_in(page, base, "bureau", "bureau-demo", start="/web/")
    # The dashboard: the alarm tile and the hazards-to-zero chart.
    assert int(page.locator("#tile-alarms").inner_text()) == 2
    hz = _chart_drawn(page, "hazards-chart")
    assert hz["chart"] and hz["painted"] > 100, hz
    page.screenshot(path=str(SCREENSHOTS / "01-dashboard.png"), full_page=True)

    # Search: permits with an alarm, in the first enterprise.
    page.get_by_role("link", name="作业票", exact=True).click()
    page.get_by_label("企业").select_option("ent-a")
    page.get_by_label("异常").select_option("ALARM_RAISED")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r".*anomaly=ALARM_RAISED.*"))
    assert "找到 1 张作业票" in page.locator("#result-count").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "02-search.png"), full_page=True)

    # The trace: who was inside when the alarm went off, and what the gas did.
    page.get_by_role("link", name="A-2026-0003").click()
    # The bureau's link names the permit's enterprise (ids are unique per enterprise).
    page.wait_for_url(base + "/web/permits/A-2026-0003?enterprise_id=ent-a")
    alarm = page.locator("#alarm-24")
    assert "H2S 12 ppm" in alarm.inner_text()
    inside = alarm.locator("dd.inside").inner_text()
    assert "李强" in inside and "周明" in inside, inside
    assert "孙立" in alarm.inner_text()  # the guardian
    assert "校验通过" in page.locator("#verification").inner_text()
    timeline = page.locator("#timeline tbody tr")
    assert timeline.count() == 32
    assert "下达撤离指令" in page.locator("#ev-25").inner_text()
    h2s = _chart_drawn(page, "chart-H2S")
    assert h2s["chart"] and h2s["painted"] > 100, h2s
    # readings, test dots, the limit line and the alarm marker
    assert h2s["datasets"] == 4, h2s["labels"]
    assert any("限值" in label for label in h2s["labels"])
    assert any("报警" in label for label in h2s["labels"])
    page.screenshot(path=str(SCREENSHOTS / "03-trace.png"), full_page=True)

    # The PDF: downloaded by the browser with its session, text read back by pdftotext.
    with page.expect_download() as info:
        page.locator("#pdf-link").click()
    download = info.value
    pdf = tmp_path / "permit.pdf"
    download.save_as(pdf)
    assert download.suggested_filename == "A-2026-0003.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for field in (
        "有限空间作业审批表",
        "作业票编号：A-2026-0003",
        "有限空间",
        "1号糖蜜罐",
        "监护人",
        "孙立",
        "作业人员",
        "李强",
        "气体检测",
        "连续监测读数",
        "报警与撤离",
        "当时在有限空间内人员",
        "校验通过",
        "能量隔离",
        "连续监测读数明细",
        "签字记录",
    ):
        assert field in text, f"{field!r} not in the PDF text"
    # The readings table: each gas with its values; H2S rose to 10 ppm before the alarm.
    assert re.search(r"H2S\s+ppm\s+6\s+0\s+10", text), text
    assert re.search(r"O2\s+%VOL\s+6\s+20\.9\s+20\.9", text), text


def test_keyboard_labels_and_contrast(page: Any, demo_server: DemoServer) -> None:
    base = demo_server.url
    browser_sign_in(page, base, "a-admin", "a-admin-demo", start="/web/")
    page.goto(base + "/web/permits")
    # The first Tab reaches the skip link; Enter moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The search form is usable from the keyboard alone.
    page.get_by_label("有限空间编号").focus()
    page.keyboard.type("A-T1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*space_id=A-T1.*"))
    assert page.locator("#permit-results tbody tr").count() == 2
    for path in ("/web/permits", "/web/hazards", "/web/permits/A-2026-0003"):
        page.goto(base + path)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (path, unlabelled)
        low = page.evaluate(CONTRAST_CHECK)
        assert low == [], (path, low[:5])


def test_tablet_portrait_has_no_sideways_scrolling(page: Any, demo_server: DemoServer) -> None:
    base = demo_server.url
    page.set_viewport_size({"width": 800, "height": 1280})
    browser_sign_in(page, base, "bureau", "bureau-demo", start="/web/")
    for name, path in (
        ("04-trace-tablet.png", "/web/permits/A-2026-0003"),
        ("05-ledger-tablet.png", "/web/enterprises/ent-a/spaces"),
        ("06-enterprise-tablet.png", "/web/enterprises/ent-a"),
        ("07-hazards-tablet.png", "/web/hazards"),
        ("08-warning-card.png", "/web/enterprises/ent-a/spaces/A-P1/card"),
    ):
        page.goto(base + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


# WCAG 2.x contrast of every visible text element against its effective background.
CONTRAST_CHECK = """() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : [0,0,0,0]; }
  function lum(c) { const a = c.slice(0,3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2]; }
  function bg(el) { for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c; }
    return [255,255,255,1]; }
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.offsetParent) continue;
    const st = getComputedStyle(el);
    const l1 = lum(rgb(st.color)), l2 = lum(bg(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && st.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      bad.push([el.tagName, el.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
    }
  }
  return bad;
}"""


def test_bureau_files_an_inspection_finding_from_the_form(
    page: Any, demo_server: DemoServer
) -> None:
    base = demo_server.url
    browser_sign_in(page, base, "bureau", "bureau-demo", start="/web/")
    page.get_by_role("link", name="隐患", exact=True).click()
    page.wait_for_url(base + "/web/hazards")
    form = page.locator("form.stack")
    form.get_by_label("企业").select_option("ent-b")
    page.get_by_label("发现的问题").fill("筒仓入口警示标志褪色 faded warning sign")
    page.get_by_label("有限空间编号（可选）").fill("B-S1")
    page.get_by_label("说明").fill("入口东侧警示牌字迹不清")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_url(re.compile(r".*/web/hazards/[0-9a-f-]{36}$"))
    assert "监管检查" in page.locator("p.lead").inner_text()
    assert page.locator("#hazard-status").inner_text() == "已上报"
    assert page.locator("#hazard-description").inner_text() == "入口东侧警示牌字迹不清"
    # A reviewer does not move the enterprise's loop; only notes and closure checks.
    assert page.locator("form[action$='/actions']").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "09-hazard-finding.png"), full_page=True)
