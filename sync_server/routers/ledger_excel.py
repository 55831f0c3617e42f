"""The ledger's catalogue (``GET /api/v1/ledger-schema``): every kind's fields, labels,
types and allowed values, the documentation of ``PUT /api/v1/enterprises/{id}/{kind}/{item}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sync_server.deps import CurrentPrincipal
from sync_server.services import ledger_catalogue

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/ledger-schema")
def ledger_schema(who: CurrentPrincipal) -> dict[str, Any]:
    """Each ledger kind with its fields in order: the API field name (dotted inside a
    nested object), the label (in the reader's language, and ``label_zh``), the type
    (``text``, ``date``, ``datetime``, ``number``, ``bool``, ``choice``, ``multi-choice``,
    ``list``, ``list-of-ids``, ``nested-rows``, ``json``), whether required, the choice
    list it takes its values from (``closed``: only those; open: suggestions), and
    whether the core derives it (never an input). ``choices`` names every value."""
    del who  # any signed-in principal may read the catalogue
    return ledger_catalogue.catalogue_json()
