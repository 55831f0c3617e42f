"""Demo reference data for a fresh tablet: the sugar mill's molasses tank, its
people (with PINs) and detector, from ``cspermit.demo.molasses_tank``; and a drawn
signature for scripts.

For ``cspermit tablet run --demo``, the walkthrough, the benchmarks and the tests; a
real tablet pulls its ledger from the server. Demo PINs are ``1111`` … ``6666`` in
roster order (below).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cspermit.demo import molasses_tank as demo
from tablet_app.pins import hash_pin
from tablet_app.signature import SignatureDrawing
from tablet_app.store import Store

DEMO_PINS = {
    demo.LEADER: "1111",
    demo.PRINCIPAL: "2222",
    demo.GUARDIAN: "3333",
    demo.ENTRANT_A: "4444",
    demo.ENTRANT_B: "5555",
    demo.ELECTRICIAN: "6666",
    "P-LIU": "7777",
}
EXPIRED_TRAINING_PERSON = "P-LIU"  # 刘洋: training lapsed, the roster must refuse him

# The tablet's ledger as a sugar mill writes it. ``molasses_tank`` keeps its own words:
# the golden chain in tests/data/permits is built from it, byte for byte.
MILL_WORDS = {
    "糖蜜储罐 1号 (molasses tank 1)": "1号糖蜜储罐",
    "agitator motor MCC-3 breaker": "搅拌电机 MCC-3 配电柜断路器",
    "molasses inlet DN100 from the fermenter": "发酵罐来糖蜜进料管 DN100",
    "4-gas pump detector": "泵吸式四合一气体检测仪",
}


def mill_words(text: str) -> str:
    return MILL_WORDS.get(text, text)


def mill_space(row: dict[str, Any]) -> dict[str, Any]:
    """A space row with the name and isolation points in the mill's words."""
    out = dict(row)
    if isinstance(out.get("name"), str):
        out["name"] = mill_words(out["name"])
    out["isolation_points"] = [
        {**p, "description": mill_words(str(p.get("description", "")))}
        for p in out.get("isolation_points", [])
    ]
    return out


def demo_people() -> list[dict[str, object]]:
    rows = []
    for person_id, (_role, snap) in demo.people().items():
        rows.append({"id": person_id, **snap.model_dump(mode="json")})
    # 张伟 also cuts: he holds the hot-work certificate the demo work requires.
    for row in rows:
        if row["id"] == demo.ENTRANT_A:
            row["certificates"] = [
                {"kind": "hot_work", "number": "T-1102", "valid_until": "2027-09-01"}
            ]
    rows.append(
        {
            "id": demo.ELECTRICIAN,
            **demo.person(demo.ELECTRICIAN, "孙涛").model_dump(mode="json"),
        }
    )
    rows.append(
        {
            "id": EXPIRED_TRAINING_PERSON,
            **demo.person(
                EXPIRED_TRAINING_PERSON, "刘洋", training_valid_until=date(2025, 6, 30)
            ).model_dump(mode="json"),
        }
    )
    for row in rows:
        row["pin_hash"] = hash_pin(DEMO_PINS[str(row["id"])])
    return rows


DEMO_CONTRACTOR: dict[str, object] = {
    "id": "CON-HUAXIN",
    "contractor_id": "CON-HUAXIN",
    "name": "华鑫安装工程有限公司 (demo contractor)",
    "contract_reference": "HX-2026-017",
    "contract_valid_from": "2026-01-01",
    "contract_valid_until": "2027-12-31",
    "blacklisted_on": None,
    "blacklist_reason": "",
}


def seed_demo(
    store: Store,
    *,
    spaces: list[dict[str, object]] | None = None,
    detectors: list[dict[str, object]] | None = None,
) -> None:
    """Load the demo ledger; ``spaces``/``detectors`` replace the demo's own rows
    (the walkthrough uses the simulator scenario's tank and detector)."""
    space = demo.space()
    rows = spaces or [{"id": space.space_id, **space.model_dump(mode="json")}]
    store.put_references("spaces", [mill_space(row) for row in rows])
    store.put_references("people", demo_people())
    # 陈刚's employer: registered, under contract, not blacklisted (the roster rule reads it).
    store.put_references("contractors", [DEMO_CONTRACTOR])
    detector_rows = detectors or [
        {"id": demo.DETECTOR.serial, **demo.DETECTOR.model_dump(mode="json")}
    ]
    store.put_references(
        "detectors",
        [{**row, "model": mill_words(str(row.get("model", "")))} for row in detector_rows],
    )
    store.set_setting("enterprise_id", "ENT-SUGAR")


def demo_signature() -> SignatureDrawing:
    """A signature-like scribble (two strokes), for scripts and benchmarks."""
    import math

    drawing = SignatureDrawing()
    drawing.begin(0.1, 0.5)
    for i in range(1, 40):
        t = i / 40
        drawing.extend(0.1 + 0.6 * t, 0.5 + 0.3 * math.sin(t * 9))
    drawing.begin(0.75, 0.3)
    drawing.extend(0.9, 0.7)
    return drawing
