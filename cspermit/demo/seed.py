"""Demo data: a bureau, two enterprises and their ledgers. DEMO PASSWORDS ONLY.

The reference data is written through the same services the admin API uses; the permit
history (:mod:`cspermit.demo.permit_history`, built with the permit core's commands) is
pushed by :func:`push_history` through the real sync path, with the tablet's sync client.
Both for ``cspermit server seed-demo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server.schema import accounts
from sync_server.security import Passwords, Role
from sync_server.services import accounts as account_service
from sync_server.services import enterprises as enterprise_service

JURISDICTION = "530102"  # a county-level division code (demo)

DEMO_ACCOUNTS = [
    # username, password, role, enterprise, jurisdiction
    ("bureau", "bureau-demo", Role.BUREAU_REVIEWER, None, JURISDICTION),
    ("a-admin", "a-admin-demo", Role.ENTERPRISE_ADMIN, "ent-a", None),
    ("b-admin", "b-admin-demo", Role.ENTERPRISE_ADMIN, "ent-b", None),
    ("feed", "feed-demo-aggregator", Role.AGGREGATOR, None, "53"),
    ("operator", "operator-demo", Role.OPERATOR, None, None),
]

# What the pages show for each demo account (docs/web.md, "Accounts").
DEMO_DISPLAY_NAMES = {
    "bureau": "县应急管理局 李监管",
    "a-admin": "糖厂安全管理员 陈明",
    "b-admin": "水泥厂安全管理员 刘洋",
    "operator": "系统运维",
}

DEMO_ADMIN_PASSWORDS = {"ent-a": ("a-admin", "a-admin-demo"), "ent-b": ("b-admin", "b-admin-demo")}

DEMO_ENTERPRISES: list[dict[str, Any]] = [
    {
        "enterprise_id": "ent-a",
        "name": "云南甘蔗糖业有限公司 (demo sugar mill)",
        "credit_code": "91530102MA6K6GH00F",
        "jurisdiction": JURISDICTION,
        "details": {"industry": "sugar", "address": "demo county, Yunnan"},
    },
    {
        "enterprise_id": "ent-b",
        "name": "滇中水泥有限公司 (demo cement plant)",
        "credit_code": "91530102MA6K7JK03A",
        "jurisdiction": JURISDICTION,
        "details": {"industry": "cement", "address": "demo county, Yunnan"},
    },
]


FOUR_LISTS = {
    "basic_information": ["容积 volume, depth, medium, connected pipes"],
    "responsible_persons": ["主要负责人 principal", "安全管理人员 safety manager"],
    "control_measures": [
        "先通风、再检测、后作业",
        "blind flanges on every inlet",
        "continuous gas monitoring",
    ],
    "emergency_response": ["现场处置方案 on-site plan: tripod, winch, SCBA at the manhole"],
}

DEMO_SPACES: dict[str, list[dict[str, Any]]] = {
    "ent-a": [
        {
            "id": "A-T1",
            "name": "1号糖蜜罐 molasses tank No. 1",
            "location": "压榨车间东侧 east of the milling house",
            "type": "closed_equipment",
            "hazards": ["H2S", "CO2", "O2_deficiency"],
            "required_channels": ["O2", "H2S", "LEL", "CO"],
            "sample_points": ["top", "middle", "bottom"],
            "isolation_points": [
                {
                    "id": "V-101",
                    "description": "molasses inlet",
                    "kind": "blind_flange",
                    "energy": "pipe",
                    "hazardous_source": True,
                },
                {
                    "id": "M-1",
                    "description": "agitator motor",
                    "kind": "electrical_lockout",
                    "energy": "electrical",
                },
            ],
            "required_ppe": ["breathing_apparatus", "harness"],
            "rescue_equipment": ["tripod", "winch", "breathing_apparatus"],
            "key_supervision": True,
            "warning_sign_present": True,
            "four_lists": FOUR_LISTS,
        },
        {
            "id": "A-P1",
            "name": "废水沉淀池 sewage settling pit",
            "location": "污水站 wastewater station",
            "type": "underground",
            "hazards": ["H2S", "CH4"],
            "required_channels": ["O2", "H2S", "LEL"],
            "sample_points": ["top", "bottom"],
            "isolation_points": [
                {
                    "id": "P-7",
                    "description": "inflow pump",
                    "kind": "electrical_lockout",
                    "energy": "electrical",
                },
            ],
            "required_ppe": ["breathing_apparatus", "harness"],
            "rescue_equipment": ["tripod", "winch"],
            "key_supervision": True,
            # No warning sign: the ledger check files a MEM10 Art. 13 (一) hazard.
            "warning_sign_present": False,
            "four_lists": FOUR_LISTS,
        },
    ],
    "ent-b": [
        {
            "id": "B-S1",
            "name": "熟料筒仓 clinker silo No. 2",
            "location": "熟料库 clinker store",
            "type": "closed_equipment",
            "hazards": ["CO", "O2_deficiency", "engulfment"],
            "required_channels": ["O2", "CO", "LEL"],
            "sample_points": ["top", "middle", "bottom"],
            "isolation_points": [
                {
                    "id": "BF-2",
                    "description": "feed belt",
                    "kind": "mechanical_block",
                    "energy": "mechanical",
                },
            ],
            "required_ppe": ["breathing_apparatus", "harness"],
            "rescue_equipment": ["tripod", "winch"],
            "key_supervision": True,
            "warning_sign_present": True,
            "four_lists": FOUR_LISTS,
        },
    ],
}

# person_id, name, authority; training valid a year ahead of the seed date.
DEMO_PEOPLE: dict[str, list[tuple[str, str, str]]] = {
    "ent-a": [
        ("a-p-zhao", "赵建国", "principal"),
        ("a-p-qian", "钱卫东", "approver"),
        ("a-p-sun", "孙立", "none"),
        ("a-p-li", "李强", "none"),
        ("a-p-zhou", "周明", "none"),
    ],
    "ent-b": [
        ("b-p-sun", "孙海", "principal"),
        ("b-p-wu", "吴芳", "none"),
        ("b-p-zheng", "郑伟", "none"),
    ],
}

DEMO_DETECTORS: dict[str, list[dict[str, Any]]] = {
    "ent-a": [
        {
            "serial": "GASL-4-0001",
            "model": "four-gas",
            "protocol": "gasl",
            "channels": ["O2", "H2S", "LEL", "CO"],
        }
    ],
    "ent-b": [
        {
            "serial": "GT4-2201",
            "model": "four-gas",
            "protocol": "modbus-gt4",
            "channels": ["O2", "CO", "LEL", "H2S"],
        }
    ],
}


@dataclass(frozen=True)
class SeedResult:
    created: bool
    accounts: list[str]
    enterprises: list[str]


def seed_reference(engine: Engine, passwords: Passwords) -> SeedResult:
    """Accounts and enterprises; does nothing when the demo accounts already exist."""
    with engine.begin() as conn:
        if conn.execute(
            sa.select(accounts.c.account_id).where(accounts.c.username == "bureau")
        ).first():
            return SeedResult(False, [], [])
        for ent in DEMO_ENTERPRISES:
            enterprise_service.create(conn, **ent)
        # The UTC date, as the demo history's (cspermit.demo.permit_history).
        _seed_ledger(conn, datetime.now(UTC).date())
        for username, password, role, eid, jur in DEMO_ACCOUNTS:
            account_service.create_account(
                conn,
                passwords,
                username=username,
                password=password,
                role=role,
                display_name=DEMO_DISPLAY_NAMES.get(username, ""),
                enterprise_id=eid,
                jurisdiction=jur,
            )
    return SeedResult(
        True, [a[0] for a in DEMO_ACCOUNTS], [e["enterprise_id"] for e in DEMO_ENTERPRISES]
    )


def _seed_ledger(conn: Any, today: date) -> None:
    from cspermit.demo.permit_history import demo_bump_tests, demo_certificates, demo_training
    from sync_server.security import Principal
    from sync_server.services import hazards as hazard_service
    from sync_server.services import public_codes
    from sync_server.services import reference as ref
    from sync_server.services.reference import Kind

    # The seed writes as the operator would; each space's QR token is issued (audited)
    # as a space saved through the pages or the API gets one. The items are written as
    # first versions by no named hand, on purpose: such a version stands for the time
    # before it too (ledger_history, "unattributed first"), so the demo's permit
    # history, dated before the seed ran, is checked against this ledger. Written
    # through ledger_edits.save, each would name the seed and the ledger would read as
    # absent before it (tests/e2e/test_days_offline_ledger.py found that).
    seeder = Principal(Role.OPERATOR, "demo-seed", "demo-seed")

    roles = {"principal": ["principal", "approver", "work_leader"], "approver": ["approver"]}
    training = demo_training(today)
    for eid, spaces in DEMO_SPACES.items():
        for space in spaces:
            _, after = ref.upsert(conn, eid, Kind.SPACE, space["id"], dict(space))
            hazard_service.file_ledger_gaps(conn, eid, space["id"], after)
            public_codes.issue_first(conn, seeder, eid, space["id"])
        for i, (person_id, name, authority) in enumerate(DEMO_PEOPLE[eid]):
            person_roles = roles.get(authority, ["guardian"] if i == len(roles) else ["entrant"])
            ref.upsert(
                conn,
                eid,
                Kind.PERSON,
                person_id,
                {
                    "name": name,
                    "employer": {"kind": "enterprise", "id": eid},
                    "roles": person_roles,
                    "training": [training],
                },
            )
            ref.upsert(
                conn, eid, Kind.TRAINING, f"{person_id}-cs", {"person_id": person_id, **training}
            )
        for det in DEMO_DETECTORS[eid]:
            ref.upsert(
                conn,
                eid,
                Kind.DETECTOR,
                det["serial"],
                {
                    **det,
                    # calibrated eight months ago, due again in four (a yearly calibration)
                    "calibrated_on": (today - timedelta(days=245)).isoformat(),
                    "calibration_due": (today + timedelta(days=120)).isoformat(),
                    "bump_tests": [
                        {"at": at.isoformat(), "passed": True, "by": "demo"}
                        for at in demo_bump_tests(datetime.now(UTC))
                    ],
                },
            )
    # The sugar mill's maintenance contractor (under contract), and the principal's
    # written delegation to the approver for the settling pit (MEM13 Art. 7): what the
    # tablet's roster and approval rules read (docs/rules.md, People, contractors and
    # spaces).
    ref.upsert(
        conn,
        "ent-a",
        Kind.CONTRACTOR,
        "a-c-huaxin",
        {
            "name": "华鑫安装工程有限公司 (demo contractor)",
            "uscc": "91530102MA6K7JK03A",
            "contract_reference": "HX-MAINT-01",
            "contract_valid_from": (today - timedelta(days=60)).isoformat(),
            "contract_valid_until": (today + timedelta(days=300)).isoformat(),
        },
    )
    ref.upsert(
        conn,
        "ent-a",
        Kind.DELEGATION,
        "a-dlg-pit",
        {
            "delegator": "a-p-zhao",
            "delegate": "a-p-qian",
            "space_ids": ["A-P1"],
            "valid_from": (today - timedelta(days=30)).isoformat(),
            "valid_until": (today + timedelta(days=335)).isoformat(),
            "document_ref": "授权委托书 2026-01 (demo)",
        },
    )
    (li_hot,) = demo_certificates(today)["a-p-li"]
    ref.upsert(conn, "ent-a", Kind.CERTIFICATE, "a-p-li-hot", {"person_id": "a-p-li", **li_hot})


async def push_history(application: object) -> list[str]:
    """Enroll one demo tablet per enterprise and push its permit history through the real
    sync path (the tablet's sync client, in-process over ASGI)."""
    from datetime import UTC, datetime

    import httpx

    from cspermit.demo.permit_history import build_history
    from permits.integrity import DeviceKey
    from tablet_app.sync_client import SyncClient

    lines = []
    now = datetime.now(UTC)
    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    for enterprise_id, (admin, password) in DEMO_ADMIN_PASSWORDS.items():
        async with SyncClient("http://localhost", transport=transport) as client:
            await client.sign_in(admin, password)
            code = await client.create_enrollment_code("demo tablet")
            key = DeviceKey.generate("pending")
            enrollment = await client.enroll(code, key.public_b64(), label="demo tablet")
            key = DeviceKey(enrollment.device_id, key.private_key)
            history = build_history(
                enterprise_id,
                DEMO_SPACES[enterprise_id],
                DEMO_PEOPLE[enterprise_id],
                DEMO_DETECTORS[enterprise_id][0]["serial"],
                key,
                now,
            )
            for permit in history:
                await client.upload_chunks(permit.chunks)
                outcome = await client.push_events(permit.events)
                refused = outcome.by_status("rejected")
                if refused:
                    raise RuntimeError(f"demo permit {permit.permit_id} refused: {refused}")
                lines.append(
                    f"{enterprise_id}: pushed {permit.permit_id} "
                    f"({len(permit.events)} events, {len(permit.chunks)} chunks)"
                )
    return lines
