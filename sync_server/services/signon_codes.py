"""One-time sign-on codes (首次登录码): a person's PIN that nobody else knows.

The enterprise admin issues a person of the ledger a code (printed on a slip); on a
tablet the person enters it once and chooses a PIN. The tablet hashes the PIN with the
core's Argon2id rule (``permits.reference.hash_pin``) and sends the hash with the code;
the server checks the code at that moment (bound to the person and the enterprise,
single use, expiring, throttled against guessing) and writes the hash into the person's
ledger entry, which every tablet of the enterprise pulls (docs/server.md, "Sign-on
codes"). Codes are stored only as SHA-256 digests and shown once; a new code for the
same person revokes the older ones (a reset). The numbers are in
``sync_server/data/signon_codes.toml``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from permits.reference import hash_pin
from permits.reference.people import PIN_DIGITS as PIN_DIGITS  # the slip shows them
from sync_server.errors import Conflict, TooManyRequests, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import devices, signon_codes
from sync_server.security import Principal, normalise_code, token_digest
from sync_server.services import audit, one_time_codes, throttle
from sync_server.services import names as names_service
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.settings import Settings
from sync_server.storage import begin_write, now_iso

DATA = Path(__file__).resolve().parents[1] / "data" / "signon_codes.toml"

# What the listing says of a code (the page shows them in words).
ISSUED = "issued"
USED, EXPIRED, REVOKED = one_time_codes.USED, one_time_codes.EXPIRED, one_time_codes.REVOKED


@dataclass(frozen=True)
class SignOnRules:
    alphabet: str
    length: int
    lifetime: timedelta
    max_failures: int
    max_failures_per_enterprise: int


@cache
def rules() -> SignOnRules:
    data = tomllib.loads(DATA.read_text("utf-8"))
    throttle = data["throttle"]
    return SignOnRules(
        alphabet=data["code"]["alphabet"],
        length=int(data["code"]["length"]),
        lifetime=timedelta(hours=float(data["lifetime"]["hours"])),
        max_failures=int(throttle["max_failures"]),
        max_failures_per_enterprise=int(throttle["max_failures_per_enterprise"]),
    )


def new_code() -> str:
    """A printable code: groups of five, from letters and digits that cannot be misread."""
    r = rules()
    raw = "".join(secrets.choice(r.alphabet) for _ in range(r.length))
    return "-".join(raw[i : i + 5] for i in range(0, len(raw), 5))


def _digest(code: str) -> str:
    return token_digest(normalise_code(code).replace("-", ""))


def state_of(row: Any, now: datetime) -> str:
    return one_time_codes.state_of(row, now, ISSUED)


def _row_out(row: Any, now: datetime, names: dict[str, str]) -> dict[str, Any]:
    return {
        "code_id": row.code_id,
        "person_id": row.person_id,
        "person_name": names.get(row.person_id, row.person_id),
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "used_at": row.used_at,
        "revoked_at": row.revoked_at,
        "state": state_of(row, now),
    }


def issue(
    conn: Connection, who: Principal, enterprise_id: str, person_id: str
) -> tuple[str, dict[str, Any]]:
    """A new code for a person of the ledger (404 for a person it does not hold); every
    older code of the person still open is revoked. Returns (code, its listing row)."""
    person = ref.get(conn, enterprise_id, Kind.PERSON, person_id)
    now = datetime.now(UTC)
    stamp = now_iso(now)
    t = signon_codes.c
    conn.execute(
        signon_codes.update()
        .where(
            t.enterprise_id == enterprise_id,
            t.person_id == person_id,
            t.used_at.is_(None),
            t.revoked_at.is_(None),
        )
        .values(revoked_at=stamp)
    )
    code = new_code()
    code_id = str(uuid.uuid4())
    conn.execute(
        signon_codes.insert().values(
            code_id=code_id,
            code_hash=_digest(code),
            enterprise_id=enterprise_id,
            person_id=person_id,
            created_by=who.subject_id,
            created_at=stamp,
            expires_at=now_iso(now + rules().lifetime),
            used_at=None,
            used_by_device=None,
            revoked_at=None,
        )
    )
    row = conn.execute(sa.select(signon_codes).where(t.code_id == code_id)).one()
    out = _row_out(row, now, {person_id: str(person.data.get("name", person_id))})
    audit.record(
        conn,
        who,
        "signon_code.issue",
        "person",
        person_id,
        enterprise_id=enterprise_id,
        after={"code_id": code_id, "expires_at": out["expires_at"]},  # never the code
    )
    return code, out


def listing(conn: Connection, enterprise_id: str) -> list[dict[str, Any]]:
    """Every code of the enterprise, newest first, with its state (never the code)."""
    now = datetime.now(UTC)
    names = names_service.person_names(conn, enterprise_id)
    rows = conn.execute(
        sa.select(signon_codes)
        .where(signon_codes.c.enterprise_id == enterprise_id)
        .order_by(signon_codes.c.created_at.desc())
    )
    return [_row_out(r, now, names) for r in rows]


def people(conn: Connection, enterprise_id: str) -> list[dict[str, Any]]:
    """The ledger's people with their sign-on state: a PIN set or not, the latest code."""
    latest: dict[str, dict[str, Any]] = {}
    for row in listing(conn, enterprise_id):
        latest.setdefault(row["person_id"], row)
    out = []
    for item in ref.list_items(conn, enterprise_id, Kind.PERSON):
        out.append(
            {
                "person_id": item.item_id,
                "name": str(item.data.get("name", item.item_id)),
                "has_pin": bool(item.data.get("pin_hash")),
                "latest": latest.get(item.item_id),
            }
        )
    return sorted(out, key=lambda p: (p["name"], p["person_id"]))


def revoke(conn: Connection, who: Principal, enterprise_id: str, code_id: str) -> bool:
    """Revoke an open code; False when it was used, revoked or unknown (nothing changes)."""
    return one_time_codes.revoke_open(
        conn, who, signon_codes, enterprise_id, code_id, "signon_code"
    )


# ---------------------------------------------------------------- the tablet's side


@cache
def _pin_hash_prefix() -> str:
    # The core's parameters (version, memory, iterations, lanes) as its own hash writes
    # them: a hash made by the same rule starts with exactly this.
    sample = hash_pin("0000")
    return sample[: sample.rindex("$", 0, sample.rindex("$")) + 1]


_PHC = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{16,}$")


def check_pin_hash(pin_hash: str) -> str:
    """The tablet's hash, refused unless it is the core's Argon2id rule (never a PIN)."""
    if not _PHC.match(pin_hash) or not pin_hash.startswith(_pin_hash_prefix()):
        raise Unprocessable(
            _("expected the tablet's Argon2id hash of the PIN, never the PIN itself"),
            code="PIN_HASH_INVALID",
            field="pin_hash",
        )
    return pin_hash


# Wrong codes are counted in the sign-in throttle's table under keys no username can
# take (a username has no spaces): per tablet, and per enterprise (by digest, to fit).
DEVICE_KEY = "signon-device {}"
ENTERPRISE_KEY = "signon-ent {}"


def _keys(device: Principal) -> tuple[str, str]:
    digest = hashlib.sha256(str(device.enterprise_id).encode()).hexdigest()[:32]
    return DEVICE_KEY.format(device.subject_id), ENTERPRISE_KEY.format(digest)


def _count(engine: Engine, settings: Settings, device: Principal) -> None:
    """Count one attempt per tablet and per enterprise, committed before the code is
    checked (``services.throttle``, as sign-ins are counted): a parallel
    burst gets no more tries than the same attempts one after another."""
    r = rules()
    by_device, by_enterprise = _keys(device)
    now = datetime.now(UTC)
    try:
        with begin_write(engine) as conn:
            throttle.count_attempt(conn, settings, by_device, r.max_failures, now)
            limit = r.max_failures_per_enterprise
            throttle.count_attempt(conn, settings, by_enterprise, limit, now)
    except TooManyRequests as exc:
        raise TooManyRequests(
            _("too many wrong sign-on codes from this tablet; try again later"),
            retry_after=exc.retry_after,
            code="SIGNON_THROTTLED",
        ) from exc


def _refuse_invalid() -> Unprocessable:
    # Unknown, another person's and another enterprise's code read the same: a guess
    # learns nothing.
    return Unprocessable(
        _("this sign-on code is not valid for this person"),
        code="SIGNON_CODE_INVALID",
        field="code",
    )


def redeem(
    engine: Engine, settings: Settings, device: Principal, code: str, person_id: str, pin_hash: str
) -> dict[str, Any]:
    """The tablet's step: trade the person's code for their PIN hash in the ledger.

    The attempt is counted and committed first, per tablet and per enterprise; then the
    code is checked and, in one transaction, marked used and the hash written to the
    person's entry (a new version in the ledger's history, pulled by every tablet)."""
    enterprise_id = str(device.enterprise_id)
    check_pin_hash(pin_hash)
    _count(engine, settings, device)
    now = datetime.now(UTC)
    t = signon_codes.c
    with begin_write(engine) as conn:
        row = conn.execute(sa.select(signon_codes).where(t.code_hash == _digest(code))).first()
        if row is None or row.enterprise_id != enterprise_id or row.person_id != person_id:
            raise _refuse_invalid()
        state = state_of(row, now)
        if state == USED:
            raise Conflict(
                _("this sign-on code has already been used: ask the safety manager for a new one"),
                code="SIGNON_CODE_USED",
                field="code",
            )
        if state == REVOKED:
            raise Unprocessable(
                _("this sign-on code was replaced or withdrawn: use the newest slip"),
                code="SIGNON_CODE_REVOKED",
                field="code",
            )
        if state == EXPIRED:
            raise Unprocessable(
                _("this sign-on code has expired: ask the safety manager for a new one"),
                code="SIGNON_CODE_EXPIRED",
                field="code",
            )
        person = ref.get(conn, enterprise_id, Kind.PERSON, person_id)
        used = conn.execute(
            signon_codes.update()
            .where(t.code_id == row.code_id, t.used_at.is_(None), t.revoked_at.is_(None))
            .values(used_at=now_iso(now), used_by_device=device.subject_id)
        )
        if used.rowcount != 1:  # two tablets racing with one code: one wins
            raise Conflict(
                _("this sign-on code has already been used: ask the safety manager for a new one"),
                code="SIGNON_CODE_USED",
                field="code",
            )
        data = {**person.data, "pin_hash": pin_hash}
        # the ledger's history names the tablet by its label, as the devices page does
        label = conn.execute(
            sa.select(devices.c.label).where(devices.c.device_id == device.subject_id)
        ).scalar()
        _before, after = ref.upsert(
            conn, enterprise_id, Kind.PERSON, person_id, data, changed_by=label or device.name
        )
        audit.record(
            conn,
            device,
            "signon_code.use",
            "person",
            person_id,
            enterprise_id=enterprise_id,
            after={"code_id": row.code_id, "pin_set": True},  # never the hash
        )
        # as a good sign-in does: the tablet's count cleared, its try given back
        by_device, by_enterprise = _keys(device)
        throttle.clear(conn, by_device)
        throttle.give_back(conn, by_enterprise)
    return {"person_id": person_id, "name": str(after.get("name", person_id))}
