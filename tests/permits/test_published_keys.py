"""One reader for a server key as a reviewer pastes or saves it (permits.attestation)."""

from __future__ import annotations

import json

import pytest

from permits.attestation import ServerKey, published_keys
from permits.errors import InvalidInput


def test_a_key_or_the_server_key_answer_with_its_retired_keys() -> None:
    current, old = ServerKey.generate().public_b64, ServerKey.generate().public_b64
    assert published_keys(f"  {current}\n") == [current]
    answer = {"public_key": current, "keys": [{"public_key": current}, {"public_key": old}]}
    assert published_keys(json.dumps(answer)) == [current, old]
    assert published_keys(json.dumps({"public_key": old})) == [old]


@pytest.mark.parametrize(
    "text", ["", "not-a-key", "{not json", '{"keys": 3}', '{"public_key": "x"}']
)
def test_anything_else_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        published_keys(text)
    assert caught.value.field == "server_key"
