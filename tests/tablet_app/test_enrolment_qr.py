"""The enrolment QR: the text the server's devices page prints
(``permits.enrolment_code.enrolment_payload``), rendered as the page renders it (segno),
read from a camera frame through the real decoder and parsed by the tablet's reader,
gives back the server and the code; older forms still read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from permits.enrolment_code import enrolment_payload, parse_enrolment_code
from tablet_app.presenters.scanning import decode_frame

from .test_scanning import camera_frame

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
codes = st.text(ALPHABET, min_size=10, max_size=10).map(lambda c: f"{c[:5]}-{c[5:]}")
servers = st.sampled_from(
    [
        "https://sync.mill.example",
        "http://127.0.0.1:8000",
        "https://bureau.example.cn:8443/cspermit",  # behind a path prefix
        "https://[2001:db8::1]",
    ]
)


@settings(max_examples=60, deadline=None)
@given(servers, codes)
def test_what_the_server_prints_the_tablet_reads(server: str, code: str) -> None:
    scanned = parse_enrolment_code(enrolment_payload(server + "/", code))
    assert (scanned.server, scanned.code) == (server, code)


def test_the_printed_qr_through_the_camera_decoder() -> None:
    payload = enrolment_payload("https://bureau.example.cn/cspermit", "K7Q2M-9XPMA")
    read = decode_frame(camera_frame(payload), 640, 480, bottom_up=True)
    assert read == payload
    scanned = parse_enrolment_code(read or "")
    assert scanned.server == "https://bureau.example.cn/cspermit"
    assert scanned.code == "K7Q2M-9XPMA"


def test_other_forms_and_what_is_not_a_server() -> None:
    assert parse_enrolment_code(" K7Q2M-9XPMA ").code == "K7Q2M-9XPMA"
    assert parse_enrolment_code(" K7Q2M-9XPMA ").server is None
    link = parse_enrolment_code("https://sync.mill.example/enrol?code=K7Q2M-9XPMA")
    assert (link.server, link.code) == ("https://sync.mill.example", "K7Q2M-9XPMA")
    # a server named by something other than http(s) is not taken as one
    odd = parse_enrolment_code("cspermit://enrol?server=javascript:alert(1)&code=K7Q2M-9XPMA")
    assert odd.server is None and odd.code == "K7Q2M-9XPMA"
