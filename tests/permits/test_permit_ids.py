"""A permit id is plain ASCII (letters, digits, . _ : -): no control character, space or
look-alike can make one permit's id pass for another's."""

from __future__ import annotations

import pytest

from permits.errors import InvalidInput
from permits.events import parse_event
from tests.support.events import first_event


@pytest.mark.parametrize(
    "permit_id",
    [
        "\u0420MT-2026-0001",  # Cyrillic Er, looks like P
        "ＰＭＴ-2026-0001",  # full-width letters (NFKC would fold them onto PMT)
        "PMT-2026-0001\n",
        "PMT 2026 0001",
        "PMT-2026-0001\u200b",  # zero-width space
        "-PMT",
        "P" * 65,
        "",
    ],
)
def test_a_look_alike_or_control_character_permit_id_is_refused(permit_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_event({**first_event(), "permit_id": permit_id})
    assert caught.value.field == "permit_id"


def test_the_ids_tablets_write_are_accepted() -> None:
    for permit_id in ("PMT-20261201-9F3A0C", "PMT-2026-0001", "HW.2026:7_a"):
        assert parse_event({**first_event(), "permit_id": permit_id}).permit_id == permit_id
