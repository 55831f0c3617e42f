"""The warning sign's code: what the server writes, the tablet reads back."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.errors import InvalidInput
from permits.space_code import SpaceCode, parse_space_code, public_url, space_code

# Ledger ids are free text from the enterprise (no slash or control character).
ids = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"), min_size=1
).filter(lambda s: s.strip() == s and s)


@given(enterprise=ids, space=ids)
def test_every_printed_code_reads_back_as_its_space(enterprise: str, space: str) -> None:
    code = space_code(enterprise, space)
    if len(code) <= 512:
        assert parse_space_code(code) == SpaceCode(space, enterprise)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("cspermit://space/ent-a/A-P1", SpaceCode("A-P1", "ent-a")),
        ("  cspermit://space/ent-a/A-P1\n", SpaceCode("A-P1", "ent-a")),
        ("cspermit://space/ent-a/%E7%B3%96%E8%9C%9C%E7%BD%90", SpaceCode("糖蜜罐", "ent-a")),
        ("cspermit:space:SP-1", SpaceCode("SP-1")),
        ("https://bureau.example/spaces/SP-2?x=1", SpaceCode("SP-2")),
        (
            "https://srv.example/web/enterprises/ent-a/spaces/A-T1/card",
            SpaceCode("A-T1", "ent-a"),
        ),
    ],
)
def test_the_forms_in_use_name_their_space(payload: str, expected: SpaceCode) -> None:
    assert parse_space_code(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "hello",
        "cspermit://space/ent-a",
        "cspermit://space/ent-a/A-P1/extra",
        "cspermit://space/ent-a/%2F",
        "cspermit://space/ent-a/%0A",
        "cspermit:space:",
        "https://x.example/spaces/",
        "cspermit://space/e/" + "x" * 600,
    ],
)
def test_anything_else_is_refused_naming_the_field(payload: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_space_code(payload)
    assert caught.value.field == "qr"


# A public token as the server makes it (``secrets.token_urlsafe``): URL-safe base64,
# 22 to 64 characters; drawn by Hypothesis so a failure replays and shrinks.
tokens = st.text(string.ascii_letters + string.digits + "-_", min_size=22, max_size=64)


@given(tokens)
def test_the_printed_public_url_reads_back_as_its_token(token: str) -> None:
    for base in ("https://codes.example.cn", "https://srv.example/county/", "http://10.0.0.5:8000"):
        url = public_url(base, token)
        assert "//q/" not in url and url.endswith(f"/q/{token}")
        assert parse_space_code(url) == SpaceCode("", token=token)


@pytest.mark.parametrize(
    "payload",
    [
        "https://codes.example.cn/q/short",
        "https://codes.example.cn/q/" + "x" * 65,
        "https://codes.example.cn/q/abc$defghijklmnopqrstuvwxyz",
        "https://codes.example.cn/q/",
    ],
)
def test_a_public_url_without_a_token_is_refused(payload: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_space_code(payload)
    assert caught.value.field == "qr"


def test_no_url_is_printed_for_a_token_too_weak_to_be_one() -> None:
    with pytest.raises(InvalidInput):
        public_url("https://codes.example.cn", "abc")
