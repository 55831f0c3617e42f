"""The ledger entered through the web forms (docs/web.md, "The ledger's forms") reaches
the rules like the JSON API's: a contractor blacklisted and its worker entered on the
forms, as the admin's browser posts them, make the synced tablet refuse the worker and
the server's replay find the chain that rostered them anyway."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.harness import ADMIN, CREDIT_CODE, Site, days, person, space
from tests.e2e.test_roster_ledger import _refused_on_tablet_and_found_by_the_server


def _post_forms(site: Site, forms: list[tuple[str, dict[str, str | list[str]]]]) -> None:
    """Sign in on the sign-in page and post each form with the session's CSRF token."""

    async def post() -> None:
        async with httpx.AsyncClient(transport=site.transport, base_url="http://localhost") as web:
            page = await web.get("/web/sign-in")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token, page.text
            r = await web.post(
                "/web/sign-in",
                data={"username": ADMIN[0], "password": ADMIN[1], "csrf": token.group(1)},
            )
            assert r.status_code == 303, r.text
            home = await web.get("/web/")
            csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
            assert csrf, home.text
            for path, data in forms:
                r = await web.post(path, data={**data, "csrf": csrf.group(1)})
                assert r.status_code == 303, r.text

    asyncio.run(post())


@pytest.mark.ledger_rule("ROSTER_CONTRACTOR_BLACKLISTED")
def test_a_contractor_blacklisted_on_the_web_form_is_refused_and_found(site: Site) -> None:
    trained = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    _post_forms(
        site,
        [
            (
                "/web/enterprises/ent-a/ledger/contractors/new",
                {
                    "item_id": "CON-WEB",
                    "name": "表单黑名单承包商",
                    "uscc": CREDIT_CODE,
                    "contract_reference": "HT-WEB-1",
                    "contract_valid_from": days(-100),
                    "contract_valid_until": days(100),
                    "blacklisted_on": days(-2),
                    "blacklist_reason": "违章作业",
                },
            ),
            (
                "/web/enterprises/ent-a/ledger/people/new",
                {
                    "item_id": "e-worker",
                    "name": "表单工人",
                    "employer.kind": "contractor",
                    "employer.id": "CON-WEB",
                    "roles": ["entrant"],
                    "training.0.topic": "confined_space",
                    "training.0.completed_on": trained,
                    "training.0.valid_until": days(200),
                },
            ),
        ],
    )
    site.put("spaces", "E-S1", space("E-S1"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.enrol()
    contractor = site.store.reference("contractors", "CON-WEB")
    assert contractor is not None and contractor["blacklisted_on"] == days(-2)
    _refused_on_tablet_and_found_by_the_server(site, "ROSTER_CONTRACTOR_BLACKLISTED")
