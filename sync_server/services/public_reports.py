"""Reports from a space's public page (码上查举报), through to the answer.

A report files a worker-report hazard for the space's enterprise (``services.hazards``:
the loop, its rules and the bureau's view are the hazard's, never a second state
machine); this module keeps what the reporter and the answer need: the receipt code
(its SHA-256 only), the optional contact (shown only to roles that follow reports up,
each view audit-logged), the answer (反馈) and the reward mark. The loop's steps map to
the reporter's four: 受理 (reported), 核实 (planned: checked and measures set), 办理
(rectified, verified, closed), 反馈 (answered) — docs/server.md, "The public page".

Abuse: a proof of work per report (self-hosted, ``challenge``/``check_work``), each
challenge used once, and throttles per space token and per client address (data:
``public_page.toml``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.engine import Connection

from sync_server.errors import NotFound, TooManyRequests, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.labels import N_
from sync_server.schema import hazard_actions, hazards, public_reports
from sync_server.security import Principal, Role
from sync_server.services import audit, blobs, server_identity
from sync_server.services import hazards as hazard_service
from sync_server.services.public_codes import CONFIG, resolve
from sync_server.services.reference import Kind
from sync_server.services.reference import find as find_reference
from sync_server.services.tenancy import (
    require_role,
    require_visible,
    scope_filter,
    visible_enterprises,
)
from sync_server.storage import now_iso, parse_iso

LIMITS: dict[str, Any] = CONFIG["reports"]
CATEGORIES: dict[str, str] = dict(LIMITS["categories"])
CATEGORY_LABELS: dict[str, str] = {
    "no_permit": N_("work without a permit"),
    "no_guardian": N_("no guardian at the entrance"),
    "no_ventilation_or_test": N_("no ventilation or gas test"),
    "no_warning_sign": N_("warning sign missing or damaged"),
    "equipment_missing": N_("rescue or protective equipment missing"),
    "other": N_("other"),
}
# A category added to public_page.toml needs its words here: checked when the server
# starts, not by a report that fails for a passer-by.
if set(CATEGORIES) - set(CATEGORY_LABELS):
    raise RuntimeError(
        "public_page.toml: categories without words: "
        + ", ".join(sorted(set(CATEGORIES) - set(CATEGORY_LABELS)))
    )
STAGES = ("received", "checked", "handled", "answered")
STAGE_LABELS: dict[str, str] = {
    "received": N_("received (受理)"),
    "checked": N_("checked (核实)"),
    "handled": N_("handled (办理)"),
    "answered": N_("answered (反馈)"),
}
# Hazard statuses → how many of the reporter's first three stages are done.
_DONE_BY_STATUS = {"reported": 1, "planned": 2, "rectified": 3, "verified": 3, "closed": 3}
CHALLENGE_TTL = timedelta(minutes=int(LIMITS["challenge_ttl_minutes"]))
ANSWER_WITHIN = timedelta(days=int(LIMITS["answer_within_days"]))
_RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PUBLIC_ACTOR = "public-report"


# ----------------------------------------------------------------- the challenge


def _secret(conn: Connection) -> bytes:
    # Derived from the server's identity key: stable across restarts, never sent out.
    key = server_identity.current_key(conn).private_b64().encode()
    return hashlib.sha256(b"cspermit public challenge\0" + key).digest()


def challenge(conn: Connection, token: str, now: datetime | None = None) -> str:
    """A fresh challenge for one report from the page of ``token``: the time, a random
    part and the server's MAC over both and the token (nothing stored until used)."""
    at = int((now or datetime.now(UTC)).timestamp())
    rand = secrets.token_urlsafe(12)
    mac = hmac.new(_secret(conn), f"{token}.{at}.{rand}".encode(), "sha256").hexdigest()[:32]
    return f"{at}.{rand}.{mac}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def check_work(
    conn: Connection, token: str, value: str, nonce: str, now: datetime | None = None
) -> None:
    """The page's proof of work: SHA-256 of ``challenge:nonce`` starts with
    ``pow_bits`` zero bits, for a challenge this server issued for this token, in time."""
    now = now or datetime.now(UTC)
    refused = Unprocessable(
        _("The page's check did not complete: reload the page and send the report again."),
        code="CHALLENGE_FAILED",
        field="challenge",
    )
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(nonce) > 32:
        raise refused
    at, rand, mac = parts
    want = hmac.new(_secret(conn), f"{token}.{at}.{rand}".encode(), "sha256").hexdigest()[:32]
    age = now.timestamp() - int(at)
    if not hmac.compare_digest(want, mac) or not -60 <= age <= CHALLENGE_TTL.total_seconds():
        raise refused
    digest = hashlib.sha256(f"{value}:{nonce}".encode()).digest()
    if leading_zero_bits(digest) < int(LIMITS["pow_bits"]):
        raise refused
    used = conn.execute(
        sa.select(public_reports.c.report_id).where(public_reports.c.challenge == value)
    ).first()
    if used is not None:
        raise refused


def solve(value: str, bits: int | None = None) -> str:
    """What the page's script does (tests and the CLI use it): the first nonce that works."""
    bits = int(LIMITS["pow_bits"]) if bits is None else bits
    n = 0
    while leading_zero_bits(hashlib.sha256(f"{value}:{n}".encode()).digest()) < bits:
        n += 1
    return str(n)


# ----------------------------------------------------------------- photos


def clean_photo(data: bytes) -> bytes:
    """A photo as stored: decoded (anything that is not an image is refused), turned
    upright, scaled to ``max_photo_side`` and re-encoded as JPEG with no metadata, so no
    EXIF (GPS position, phone model, time) of the reporter's phone is kept."""
    if len(data) > int(LIMITS["max_photo_bytes"]):
        raise Unprocessable(
            _("a photo is at most {mb} MB").format(mb=int(LIMITS["max_photo_bytes"]) // 10**6),
            code="PHOTO_TOO_LARGE",
            field="photos",
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"):
                raise UnidentifiedImageError(str(img.format))
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            picture = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise Unprocessable(
            _("a photo must be a JPEG, PNG or WebP image"), code="PHOTO_INVALID", field="photos"
        ) from exc
    side = int(LIMITS["max_photo_side"])
    picture.thumbnail((side, side))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


# ----------------------------------------------------------------- filing


def _address_hash(address: str) -> str:
    return hashlib.sha256(f"cspermit-public\0{address}".encode()).hexdigest()


def _throttle(conn: Connection, token: str, address_hash: str, now: datetime) -> None:
    def since(cond: Any, delta: timedelta) -> int:
        q = sa.select(sa.func.count()).select_from(public_reports)
        q = q.where(cond, public_reports.c.created_at >= now_iso(now - delta))
        return int(conn.execute(q).scalar_one())

    hour, day = timedelta(hours=1), timedelta(days=1)
    checks = [
        (public_reports.c.token == token, hour, int(LIMITS["per_token_per_hour"])),
        (public_reports.c.address_hash == address_hash, hour, int(LIMITS["per_address_per_hour"])),
        (public_reports.c.address_hash == address_hash, day, int(LIMITS["per_address_per_day"])),
    ]
    for cond, delta, limit in checks:
        if since(cond, delta) >= limit:
            raise TooManyRequests(
                _(
                    "Too many reports from here in a short time. Please try again later, or "
                    "call the emergency phone on this page if it is urgent."
                ),
                retry_after=int(delta.total_seconds()),
                code="REPORT_THROTTLED",
            )


def new_receipt() -> str:
    raw = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _receipt_hash(code: str) -> str:
    normal = code.strip().upper().replace(" ", "").replace("-", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def submit(
    conn: Connection,
    token: str,
    *,
    address: str,
    category: str,
    text: str,
    contact: str,
    photos: list[bytes],
    challenge_value: str,
    nonce: str,
    now: datetime | None = None,
) -> str:
    """File one report from the page of ``token``; returns the receipt code (shown once,
    kept by the reporter). Nothing is stored when any check refuses it."""
    now = now or datetime.now(UTC)
    found = resolve(conn, token)
    if found.state != "current":
        raise NotFound(_("this code has been replaced or withdrawn"), code="CODE_NOT_CURRENT")
    if category not in CATEGORIES:
        raise Unprocessable(_("choose what you saw"), code="INVALID_INPUT", field="category")
    text = text.strip()
    if not 1 <= len(text) <= int(LIMITS["max_text_chars"]):
        raise Unprocessable(
            _("describe what you saw (1 to {n} characters)").format(n=LIMITS["max_text_chars"]),
            code="INVALID_INPUT",
            field="text",
        )
    contact = contact.strip()
    if len(contact) > int(LIMITS["max_contact_chars"]):
        raise Unprocessable(
            _("the contact is at most {n} characters").format(n=LIMITS["max_contact_chars"]),
            code="INVALID_INPUT",
            field="contact",
        )
    if len(photos) > int(LIMITS["max_photos"]):
        raise Unprocessable(
            _("at most {n} photos").format(n=LIMITS["max_photos"]),
            code="INVALID_INPUT",
            field="photos",
        )
    address_hash = _address_hash(address)
    _throttle(conn, token, address_hash, now)
    check_work(conn, token, challenge_value, nonce, now)
    eid, space_id = found.enterprise_id, found.space_id
    digests = []
    for photo in photos:
        clean = clean_photo(photo)
        digest = hashlib.sha256(clean).hexdigest()
        blobs.put(conn, eid, "attachment", digest, clean, "image/jpeg", None)
        digests.append(digest)
    report_id = str(uuid.uuid4())
    space = find_reference(conn, eid, Kind.SPACE, space_id)
    space_name = str(space.data.get("name", space_id)) if space is not None else space_id
    title = _("QR report: {category} at {space}").format(
        category=_(CATEGORY_LABELS[category]), space=space_name
    )
    hazard_id = hazard_service.create(
        conn,
        enterprise_id=eid,
        source="worker_report",
        category=CATEGORIES[category],
        title=title[:300],
        description=text,
        actor=PUBLIC_ACTOR,
        space_id=space_id,
        details={"public_report_id": report_id, "photos": digests, "description": text},
    )
    receipt = new_receipt()
    conn.execute(
        public_reports.insert().values(
            report_id=report_id,
            enterprise_id=eid,
            space_id=space_id,
            token=token,
            hazard_id=hazard_id,
            receipt_hash=_receipt_hash(receipt),
            challenge=challenge_value,
            address_hash=address_hash,
            category=category,
            contact=contact or None,
            photos=digests,
            created_at=now_iso(now),
        )
    )
    return receipt


# ----------------------------------------------------------------- progress


def _stages(conn: Connection, report: Any, hazard: Any) -> list[dict[str, Any]]:
    firsts: dict[str, str] = {}
    for r in conn.execute(
        sa.select(hazard_actions.c.action, hazard_actions.c.at)
        .where(
            hazard_actions.c.enterprise_id == report.enterprise_id,
            hazard_actions.c.hazard_id == report.hazard_id,
        )
        .order_by(hazard_actions.c.seq)
    ):
        firsts.setdefault(r.action, r.at)
    done = _DONE_BY_STATUS.get(hazard.status, 1)
    at = {
        "received": report.created_at,
        "checked": firsts.get("hazard_planned"),
        "handled": firsts.get("hazard_rectified"),
        "answered": report.answered_at,
    }
    return [
        {
            "stage": s,
            "done": (i < done) or (s == "answered" and report.answer is not None),
            "at": at[s] if (i < done or s == "answered") else None,
        }
        for i, s in enumerate(STAGES)
    ]


def progress(conn: Connection, receipt: str) -> dict[str, Any]:
    """What the reporter sees with the receipt code: the category, when it was filed, the
    four stages and the answer — nothing of the enterprise's hazard record besides."""
    row = conn.execute(
        sa.select(public_reports).where(public_reports.c.receipt_hash == _receipt_hash(receipt))
    ).first()
    if row is None:
        raise NotFound(_("no report has this receipt code"), code="NOT_FOUND", field="receipt")
    hazard = hazard_service.get(conn, row.hazard_id, [row.enterprise_id])
    return {
        "category": row.category,
        "created_at": row.created_at,
        "stages": _stages(conn, row, hazard),
        "answer": row.answer,
        "answered_at": row.answered_at,
    }


# ----------------------------------------------------------------- the desk

_FOLLOWERS = (Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER, Role.OPERATOR)


def _visible(conn: Connection, who: Principal, report_id: str) -> Any:
    require_role(who, *_FOLLOWERS)
    row = conn.execute(
        sa.select(public_reports).where(public_reports.c.report_id == report_id)
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    require_visible(conn, who, row.enterprise_id)
    return row


def _shown(row: Any, hazard: Any, now: datetime) -> dict[str, Any]:
    return {
        "report_id": row.report_id,
        "enterprise_id": row.enterprise_id,
        "space_id": row.space_id,
        "hazard_id": row.hazard_id,
        "hazard_status": hazard.status if hazard is not None else "",
        "category": row.category,
        "text": (hazard.data.get("description") if hazard is not None else "") or "",
        "photos": list(row.photos or ()),
        "has_contact": row.contact is not None,
        "answer": row.answer,
        "answered_at": row.answered_at,
        "reward_marked_at": row.reward_marked_at,
        "created_at": row.created_at,
        "overdue": row.answer is None and parse_iso(row.created_at) + ANSWER_WITHIN < now,
        "stage": stage_of(row, hazard),
    }


def stage_of(row: Any, hazard: Any) -> str:
    if row.answer is not None:
        return "answered"
    done = _DONE_BY_STATUS.get(hazard.status if hazard is not None else "reported", 1)
    return STAGES[done - 1]


def listing(
    conn: Connection, who: Principal, enterprise_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Reports in the caller's scope, newest first, with their stage and whether the
    answer is overdue (``answer_within_days``). The contact is never listed."""
    require_role(who, *_FOLLOWERS)
    now = datetime.now(UTC)
    conds: list[Any] = [
        scope_filter(public_reports.c.enterprise_id, visible_enterprises(conn, who))
    ]
    if enterprise_id is not None:
        conds.append(public_reports.c.enterprise_id == enterprise_id)
    joined = public_reports.outerjoin(
        hazards,
        sa.and_(
            hazards.c.enterprise_id == public_reports.c.enterprise_id,  # co-located shards
            hazards.c.hazard_id == public_reports.c.hazard_id,
        ),
    )
    q = (
        sa.select(
            public_reports, hazards.c.status.label("h_status"), hazards.c.data.label("h_data")
        )
        .select_from(joined)
        .where(*conds)
        .order_by(public_reports.c.created_at.desc())
        .limit(limit)
    )
    out = []
    for r in conn.execute(q):
        hazard = _HazardView(r.h_status, r.h_data or {})
        out.append(_shown(r, hazard, now))
    return out


class _HazardView:
    def __init__(self, status: str | None, data: dict[str, Any]) -> None:
        self.status = status or "reported"
        self.data = data


def counts(conn: Connection, who: Principal, now: datetime | None = None) -> dict[str, Any]:
    """The bureau's dashboard: reports by stage, and those not answered in time."""
    now = now or datetime.now(UTC)
    reports = listing(conn, who, limit=10_000)
    by_stage = {s: 0 for s in STAGES}
    for r in reports:
        by_stage[r["stage"]] += 1
    return {
        "total": len(reports),
        "by_stage": by_stage,
        "overdue": [r for r in reports if r["overdue"]],
        "answer_within_days": ANSWER_WITHIN.days,
    }


def dashboard_part(conn: Connection, who: Principal) -> dict[str, Any]:
    """What the dashboard's include (``_public_reports_dashboard.html``) reads."""
    return {"public_reports": counts(conn, who), "PUBLIC_STAGE_LABELS": STAGE_LABELS}


def answer(conn: Connection, who: Principal, report_id: str, text: str) -> None:
    """The answer the reporter reads with the receipt (反馈); audit-logged."""
    row = _visible(conn, who, report_id)
    text = text.strip()
    if not 1 <= len(text) <= 2000:
        raise Unprocessable(
            _("write the answer (1 to 2000 characters)"), code="INVALID_INPUT", field="answer"
        )
    conn.execute(
        public_reports.update()
        .where(public_reports.c.report_id == report_id)
        .values(answer=text, answered_at=now_iso(), answered_by=who.name)
    )
    audit.record(
        conn,
        who,
        "public_report.answer",
        "public_report",
        report_id,
        enterprise_id=row.enterprise_id,
        before={"answer": row.answer},
        after={"answer": text},
    )


def mark_reward(conn: Connection, who: Principal, report_id: str) -> None:
    """A verified report is marked for a reward (the amount and payment stay outside)."""
    row = _visible(conn, who, report_id)
    require_role(who, Role.BUREAU_REVIEWER, Role.OPERATOR)
    hazard = hazard_service.get(conn, row.hazard_id, [row.enterprise_id])
    if hazard.status not in ("verified", "closed"):
        raise Unprocessable(
            _("only a report whose hazard has been verified can be marked for a reward"),
            code="REPORT_NOT_VERIFIED",
            field="reward",
        )
    conn.execute(
        public_reports.update()
        .where(public_reports.c.report_id == report_id)
        .values(reward_marked_at=now_iso(), reward_marked_by=who.name)
    )
    audit.record(
        conn,
        who,
        "public_report.reward",
        "public_report",
        report_id,
        enterprise_id=row.enterprise_id,
        after={"reward_marked": True},
    )


def contact(conn: Connection, who: Principal, report_id: str) -> str:
    """The reporter's contact, for a role that follows the report up; every view is in
    the audit log (who saw whose contact, when)."""
    row = _visible(conn, who, report_id)
    if row.contact is None:
        raise NotFound(_("the reporter left no contact"), code="NOT_FOUND", field="contact")
    audit.record(
        conn,
        who,
        "public_report.contact_view",
        "public_report",
        report_id,
        enterprise_id=row.enterprise_id,
    )
    return str(row.contact)
