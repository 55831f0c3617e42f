"""The hot-work permit as a PDF in the layout of GB 30871-2022 Table A.1 (动火安全作业票),
in Chinese, with the same embedded CJK font, verification block and event hashes as the
confined-space 作业票 (``sync_server.pdf``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from sync_server.labels import local_time
from sync_server.pdf import FONT_NAME, _fmt, _register_font, build_document


def render_hot_work(
    view: dict[str, Any],
    generated_by: str,
    now: datetime | None = None,
    *,
    server_fingerprint: str | None = None,
) -> bytes:
    """``view`` is ``sync_server.services.hot_work_trace.build_from`` rendered with the
    zh_CN gettext."""
    _register_font()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    now = now or datetime.now(UTC)
    permit = view["permit"]
    text = ParagraphStyle("hw", fontName=FONT_NAME, fontSize=9, leading=12.5, wordWrap="CJK")
    note = ParagraphStyle("hw-small", parent=text, fontSize=7.5, leading=10)
    section = ParagraphStyle("hw-head", parent=text, fontSize=11, leading=15, spaceBefore=6)
    heading = ParagraphStyle("hw-title", parent=text, fontSize=16, leading=22, alignment=1)
    usable = A4[0] - 30 * mm

    def para(value: Any, style: ParagraphStyle = text) -> Paragraph:
        return Paragraph(escape(_fmt(value)).replace("\n", "<br/>"), style)

    def grid(rows: list[list[Any]], widths: list[float], shade: str = "row") -> Table:
        cells = [[c if isinstance(c, Paragraph) else para(c) for c in r] for r in rows]
        out = Table(cells, colWidths=[w * usable for w in widths], repeatRows=0)
        band = (0, 0), (0, -1) if shade == "col" else (-1, 0)
        out.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", band[0], band[1], colors.HexColor("#eeeeee")),
                ]
            )
        )
        return out

    def people(role: str) -> str:
        return "\n".join(
            f"{x['name']}（{x['person_id']}）"
            + (f"　证书：{'；'.join(x['certificates'])}" if x["certificates"] else "")
            for x in view["roles"][role]
        )

    linked = view["linked"]
    others = [f"有限空间作业 {linked['permit_id']}（{linked['space_id']}）"] if linked else []
    others += [
        f"交叉作业：{' / '.join(c['permits'])}，{c['verdict_label']}，{'、'.join(c['rules'])}"
        for c in view["simops"]
    ]
    approval = view["approval"]
    done = view["completion"]
    rows = [
        ["作业编号", permit["permit_id"]],
        ["作业单位", view["enterprise_name"]],
        [
            "级别",
            view["level"] + (f"（由{view['base_level']}升级）" if view["raised_because"] else ""),
        ],
        [
            "动火地点/部位",
            "\n".join(
                f"{fp['location']}（{fp['point_id']}；坐标 {fp['xyz']} m）"
                for fp in view["fire_points"]
            ),
        ],
        ["动火方式", view["method"]],
        ["作业内容", view["work"]],
        ["计划作业时间", view["planned"]],
        ["作业负责人", people("work_leader") or "—"],
        ["动火人及证书", people("operator") or "—"],
        ["监火人", people("fire_watcher") or "—"],
        ["关联的其他特殊作业", "\n".join(others) or "无"],
        ["危害辨识", "；".join([view["work"], *view["raised_because"]])],
        ["安全措施", "；".join(view["measures"]) or "—"],
        [
            "审批",
            f"{approval['by'] or '—'} {approval['authority']} {approval['at']}"
            + (f"，有效至 {approval['expires_at']}" if approval["expires_at"] else ""),
        ],
        [
            "完工验收",
            f"动火结束 {done['done_at'] or '—'}；监火 {done['watch_started_at'] or '—'} 至 "
            f"{done['watch_ended_at'] or '—'}（确认无残留火种）；关闭 {done['closed_by'] or '—'}",
        ],
    ]
    story: list[Any] = [
        para("动火安全作业票", heading),
        para(f"作业编号：{permit['permit_id']}    状态：{view['status_label']}"),
        Spacer(1, 4 * mm),
        grid(rows, [0.22, 0.78], shade="col"),
        para("气体分析", section),
    ]
    gas: list[list[Any]] = [["分析时间", "分析部位", "分析结果", "结论", "分析人"]]
    for a in view["analyses"]:
        verdict = "合格" if a["acceptable"] else "不合格：" + "；".join(a["reasons"])
        gas.append([a["at"], a["point"], a["readings"], verdict, f"{a['by']}（{a['detector']}）"])
    if len(gas) == 1:
        gas.append(["无气体分析记录", "", "", "", ""])
    story.append(grid(gas, [0.18, 0.2, 0.25, 0.17, 0.2]))

    if view["findings"]:
        story.append(para("服务器复核发现", section))
        story.append(
            grid(
                [["事件", "代码", "说明"]]
                + [
                    [f["seq"], f["code"], (f.get("facts") or {}).get("message", "")]
                    for f in view["findings"]
                ],
                [0.1, 0.35, 0.55],
            )
        )

    verification = view["verification"]
    story.append(para("记录完整性", section))
    story.append(
        para(
            f"已校验：全部 {verification['events']} 个事件的哈希链和平板签名有效。"
            if verification["ok"]
            else f"校验失败：事件 {verification.get('seq')}（{verification.get('code')}）。"
        )
    )
    story.append(para(f"链头哈希：{view['head_hash']}", note))
    if server_fingerprint:
        story.append(para(f"服务器身份密钥指纹（SHA-256）：{server_fingerprint}", note))
    story.append(para("事件记录（全部）", section))
    events: list[list[Any]] = [["序号", "时间（北京）", "事件", "操作人", "哈希"]]
    for e in view["timeline"]:
        events.append([e["seq"], e["at"], e["label"], e["actor"], para(e["hash"][:16] + "…", note)])
    story.append(grid(events, [0.08, 0.22, 0.3, 0.22, 0.18]))

    footer = (
        f"动火安全作业票 {permit['permit_id']} · 导出人 {generated_by} · 导出时间 {local_time(now)}"
    )

    return build_document(
        story, footer, title=f"动火安全作业票 {permit['permit_id']}", subject="动火安全作业票"
    )
