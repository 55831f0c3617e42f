"""The demo's ledger is written through the one write path of the pages and the API
(``ledger_edits.save``): every seeded item's version names who wrote it and the audit
log has its entry, as a safety manager's edits would (the seed once wrote the items
alone, so the demo's ledger history said nobody had written them)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sync_server.schema import audit_log, reference_items
from sync_server.services import ledger_history
from tests.sync_server.conftest import make_settings


def test_every_seeded_ledger_item_has_its_version_by_the_seed_and_an_audit_entry(
    tmp_path: Path,
) -> None:
    from cspermit.demo.seed import DEMO_SPACES, seed_reference
    from sync_server.app import create_app

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'server.db'}"))
    try:
        seed_reference(app.state.engine, app.state.passwords)
        with app.state.engine.connect() as conn:
            items = conn.execute(
                sa.select(
                    reference_items.c.enterprise_id,
                    reference_items.c.kind,
                    reference_items.c.item_id,
                )
            ).all()
            audited = {
                (r.enterprise_id, r.object_kind, r.object_id)
                for r in conn.execute(sa.select(audit_log).where(audit_log.c.actor == "demo-seed"))
                if r.action == f"{r.object_kind}.put"
            }
            assert items and {tuple(i) for i in items} <= audited
            for ent, kind, item_id in items:
                versions = ledger_history.history(conn, ent, kind, item_id)
                assert [v["changed_by"] for v in versions] == ["demo-seed"], (kind, item_id)
        seeded_spaces = {(e, s["id"]) for e, spaces in DEMO_SPACES.items() for s in spaces}
        assert seeded_spaces == {(e, i) for e, k, i in items if k == "spaces"}
    finally:
        app.state.engine.dispose()
