"""The permit as a PDF in the 作业票 layout (有限空间作业审批表), in Chinese.

The text is real text in an embedded CJK TrueType font (WenQuanYi Micro Hei), so the
record can be searched and copied and ``pdftotext`` reads it back; a missing font is a
clear error naming the file and the package that provides it, never a PDF of empty
boxes. The last page carries the chain's verification result and every event's hash, so
the paper record can be checked against the signed chain (``export.json``).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sync_server.labels import local_time

FONT_NAME = "WQYMicroHei"
FONT_PATH_ENV = "CSPERMIT_PDF_FONT"
DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# A long job at one reading a second is thousands of rows: the PDF lists the first ones
# and points to the chunks for the rest (they are hashed into the chain).
MAX_READING_ROWS = 600


class PdfFontMissing(RuntimeError):
    """The CJK font is not installed; the permit cannot be rendered legibly."""


def font_path() -> Path:
    return Path(os.environ.get(FONT_PATH_ENV) or DEFAULT_FONT)


# ReportLab is imported by the functions that draw: it is the heaviest import of the
# server, and the app starts (and the tests build apps) without it until a PDF is asked for.
def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = font_path()
    # Checked on every export, not only the first: a font removed from a running server
    # must be reported, not hidden behind the copy registered earlier.
    if not path.is_file():
        raise PdfFontMissing(
            f"the permit PDF needs a CJK TrueType font at {path} "
            f"(install the Debian package fonts-wqy-microhei, or set {FONT_PATH_ENV} "
            "to a .ttf/.ttc with Chinese glyphs)"
        )
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    kwargs: dict[str, Any] = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **kwargs))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render(
    view: dict[str, Any],
    generated_by: str,
    now: datetime | None = None,
    *,
    server_fingerprint: str | None = None,
) -> bytes:
    """``view`` is ``sync_server.services.trace.build`` rendered with the zh_CN gettext;
    ``server_fingerprint`` is the identity key that attests this permit's export."""
    _register_font()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    now = now or datetime.now(UTC)
    permit = view["permit"]
    body = ParagraphStyle("body", fontName=FONT_NAME, fontSize=9, leading=12.5, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10)
    head = ParagraphStyle("head", parent=body, fontSize=11, leading=15, spaceBefore=6, spaceAfter=3)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(_fmt(text)).replace("\n", "<br/>"), style)

    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    header_row = TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8"))])
    label_col = TableStyle([("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0"))])
    width = A4[0] - 30 * mm

    def table(rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
        t = Table(
            [[c if isinstance(c, Paragraph) else p(c) for c in r] for r in rows],
            colWidths=[w * width for w in widths],
            repeatRows=1 if header else 0,
        )
        t.setStyle(grid)
        if header:
            t.setStyle(header_row)
        return t

    def people_with(role: str) -> str:
        return "、".join(
            f"{x['name']}（{x['person_id']}）" for x in view["people"] if role in x["role_codes"]
        )

    def signed(kind: str) -> str:
        for e in view["timeline"]:
            if e["type"] == kind:
                return f"{e['actor']}  {e['at']}"
        return "—"

    space = view["space"]
    story: list[Any] = [
        p("有限空间作业审批表（作业票）", title),
        p(f"作业票编号：{permit['permit_id']}    状态：{view['status_label']}", body),
        Spacer(1, 4 * mm),
    ]
    basics = [
        ["作业单位", view["enterprise_name"]],
        ["有限空间", f"{space.get('name', '')}（编号 {space.get('space_id', '')}）"],
        ["作业内容", view["work"]],
        ["主要危害因素", "；".join(view["hazards_identified"]) or "—"],
        ["作业时间", f"{view['first_at']} 至 {view['last_at']}（北京时间）"],
        ["作业负责人", people_with("work_leader") or "—"],
        ["审批人", people_with("approver") or "—"],
        ["监护人", people_with("guardian") or "—"],
        ["作业人员", people_with("entrant") or "—"],
        ["审批签字", signed("approved")],
        ["监护人到岗签字", signed("guardian_on_duty")],
        ["作业结束（关闭）", signed("closed")],
    ]
    t = table(basics, [0.22, 0.78], header=False)
    t.setStyle(label_col)
    story.append(t)

    story.append(p("能量隔离（挂牌上锁）", head))
    iso_rows: list[list[Any]] = [
        ["隔离点", "方式", "锁/牌", "上锁人及时间", "确认人及时间", "解除人及时间"]
    ]
    for rec in view["isolations"]:
        iso_rows.append(
            [
                rec.get("point_id"),
                rec.get("method"),
                f"{rec.get('lock_id', '')} / {rec.get('tag_id', '')}",
                f"{rec.get('applied_by', '')} {rec.get('applied_at', '')}",
                f"{rec.get('verified_by', '')} {rec.get('verified_at', '')}",
                f"{rec.get('removed_by', '')} {rec.get('removed_at', '')}",
            ]
        )
    if len(iso_rows) == 1:
        iso_rows.append(["—", "", "", "", "", ""])
    story.append(table(iso_rows, [0.1, 0.15, 0.19, 0.19, 0.19, 0.18]))

    story.append(p("气体检测（作业前检测）", head))
    gas_rows: list[list[Any]] = [["检测时间", "检测点", "检测仪", "检测人", "检测结果"]]
    for test in view["tests"]:
        gas_rows.append(
            [
                test["at"],
                test["point"],
                test["detector"],
                test["by"],
                "；".join(
                    f"{r['channel']} {_fmt(r['value'])} {r['unit']}" for r in test["readings"]
                ),
            ]
        )
    if len(gas_rows) == 1:
        gas_rows.append(["无气体检测记录", "", "", "", ""])
    story.append(table(gas_rows, [0.2, 0.1, 0.15, 0.2, 0.35]))

    story.append(p("连续监测读数", head))
    rd = view["readings"]
    mon_rows: list[list[Any]] = [["气体", "单位", "读数个数", "最小值", "最大值", "起止时间"]]
    for s in view["readings_summary"]:
        mon_rows.append(
            [
                s["channel"],
                s["unit"],
                s["n"],
                _fmt(s["min"]),
                _fmt(s["max"]),
                f"{local_time(s['first'])} 至 {local_time(s['last'])}",
            ]
        )
    if len(mon_rows) == 1:
        mon_rows.append(["无连续监测读数", "", "", "", "", ""])
    story.append(table(mon_rows, [0.1, 0.1, 0.12, 0.12, 0.12, 0.44]))
    story.append(
        p(
            f"读数数据块：应有 {rd['chunks']}，已收到 {rd['held']}，缺失 {len(rd['missing'])}"
            + (f"，无法读取 {len(rd['unreadable'])}" if rd["unreadable"] else "")
            + (f"，存储后被改动 {len(rd['corrupt'])}（其读数未列入）" if rd.get("corrupt") else ""),
            small,
        )
    )

    story.append(p("报警与撤离", head))
    if view["alarms"]:
        al_rows: list[list[Any]] = [
            [
                "报警时间",
                "气体/检测点",
                "读数（限值）",
                "当时在有限空间内人员",
                "监护人",
                "撤离与解除",
            ]
        ]
        for a in view["alarms"]:
            al_rows.append(
                [
                    a["at"],
                    f"{a['channel']} / {a['point']}",
                    f"{_fmt(a['value'])} {a['unit']}（限值 {_fmt(a['limit'])}）",
                    "、".join(a["inside"]) or "无人",
                    a["guardian"] or "—",
                    f"撤离指令 {a['evacuation_at'] or '—'}；"
                    + "；".join(f"撤出 {x}" for x in a["exits"])
                    + f"；解除 {a['cleared_at'] or '未解除'}",
                ]
            )
        story.append(table(al_rows, [0.14, 0.12, 0.15, 0.22, 0.15, 0.22]))
    else:
        story.append(p("本作业无报警记录。"))

    if view["findings"]:
        story.append(p("服务器复核发现的违规（自动隐患）", head))
        f_rows: list[list[Any]] = [["事件序号", "代码", "说明"]]
        for f in view["findings"]:
            f_rows.append([f["seq"], f["code"], (f.get("facts") or {}).get("message", "")])
        story.append(table(f_rows, [0.12, 0.33, 0.55]))

    checks = view.get("ledger_checks") or {}
    if checks.get("mismatches"):
        story.append(p("平板记录与服务器台账（按事件发生时）的不一致", head))
        if checks.get("ledger_as_of"):
            story.append(p(f"平板台账副本的同步时间：{checks['ledger_as_of']}"))
        m_rows: list[list[Any]] = [["事件序号", "对象", "事项", "平板记录", "服务器台账"]]
        for m in checks["mismatches"]:
            m_rows.append([m["seq"], m["subject"], m["field"], m["recorded"], m["ledger"]])
        story.append(table(m_rows, [0.1, 0.22, 0.24, 0.22, 0.22]))

    signed_rows: list[list[Any]] = [["签字事项", "签字人", "时间（北京）", "PIN 验证", "事件序号"]]
    for e in view["timeline"]:
        if e.get("signoff"):
            signed_rows.append(
                [
                    e["label"],
                    e["signoff"]["person"],
                    e["at"],
                    "已验证" if e["signoff"]["pin_verified"] else "未验证",
                    e["seq"],
                ]
            )
    if len(signed_rows) > 1:
        story.append(p("签字记录（平板上凭个人 PIN 签字，并由设备私钥签名）", head))
        story.append(table(signed_rows, [0.24, 0.3, 0.22, 0.12, 0.12]))

    ver = view["verification"]
    story.append(p("电子记录完整性校验", head))
    if ver.get("ok"):
        verdict = (
            f"校验通过：{ver['events']} 条事件的哈希链与设备签名（Ed25519，"
            "按本服务器登记的设备公钥校验）均有效，记录自签名以来未被改动。"
        )
    else:
        verdict = (
            f"校验未通过：第一个不符的事件序号为 {ver.get('seq')}（{ver.get('code')}）："
            f"{ver.get('message', '')}。该序号及以后的记录不可作为未经改动的证据。"
        )
    story.append(
        KeepTogether(
            [
                p(verdict),
                p(f"链末哈希（SHA-256）：{view['head_hash']}", small),
                p(
                    "签名设备："
                    + "；".join(f"{label or '—'}（{dev}）" for dev, label in view["devices"]),
                    small,
                ),
                p(
                    f"可验证的签名链：GET /api/v1/permits/{permit['permit_id']}/export.json"
                    # For a bureau reviewer the link names the enterprise (ids are the
                    # enterprise's own, services.permit_lookup).
                    f"{view.get('links', '')}，"
                    "由本服务器身份密钥签署证明；用 cspermit permit verify --server-key 离线校验。",
                    small,
                ),
                *(
                    [p(f"服务器身份密钥指纹（SHA-256）：{server_fingerprint}", small)]
                    if server_fingerprint
                    else []
                ),
                p(
                    "本文件由服务器根据上述签名记录链生成；如与电子记录不一致，"
                    "以经校验的电子记录为准。",
                    small,
                ),
            ]
        )
    )

    raw = {ch: series for ch, series in view["raw_points"].items() if series["points"]}
    if raw:
        # Every continuous reading, one row per instant: the numbers behind the summary.
        channels = list(raw)
        by_time: dict[int, dict[str, Any]] = {}
        for ch, series in raw.items():
            for x, y in series["points"]:
                by_time.setdefault(int(x), {})[ch] = y
        times = sorted(by_time)
        shown = times[:MAX_READING_ROWS]
        story.append(p("连续监测读数明细（北京时间）", head))
        units = {ch: series["unit"] for ch, series in raw.items()}
        detail: list[list[Any]] = [["时间", *[f"{ch}（{units[ch]}）" for ch in channels]]]
        for ms in shown:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
            detail.append([local_time(at), *[_fmt(by_time[ms].get(ch)) for ch in channels]])
        if len(detail) > 1:
            story.append(table(detail, [0.28] + [0.72 / len(channels)] * len(channels)))
        if len(times) > len(shown):
            story.append(
                p(
                    f"共 {len(times)} 个时刻，此处列出前 {len(shown)} 个；"
                    "全部读数见签名记录链所指的读数数据块。",
                    small,
                )
            )

    story.append(p("事件记录（全部）", head))
    ev_rows: list[list[Any]] = [["序号", "时间（北京）", "事件", "操作人", "内容", "哈希"]]
    for e in view["timeline"]:
        ev_rows.append(
            [
                e["seq"],
                e["at"],
                e["label"],
                e["actor"],
                e["summary"] + (f"（时钟：{e['clock_flag']}）" if e["clock_flag"] else ""),
                p(e["hash"][:16] + "…", small),
            ]
        )
    story.append(table(ev_rows, [0.06, 0.15, 0.15, 0.17, 0.33, 0.14]))

    footer = (
        f"作业票 {permit['permit_id']} · 导出人 {generated_by} · "
        f"导出时间 {local_time(now)}（北京时间）"
    )

    return build_document(
        story,
        footer,
        title=f"有限空间作业票 {permit['permit_id']}",
        subject="有限空间作业审批表",
    )


def build_document(story: list[Any], footer: str, *, title: str, subject: str) -> bytes:
    """A4 pages of ``story`` with ``footer`` and the page number at the foot of each
    (the 有限空间作业票 and the 动火安全作业票 alike)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_NAME, 7.5)
        canvas.drawString(15 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="cspermit",
        subject=subject,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
