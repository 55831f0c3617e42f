"""Fixtures the newer tablet tests share: a windowless tablet, a language on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from permits.i18n import get_language, set_language

from .world import World, make_world


def _speaking(language: str) -> Iterator[None]:
    before = get_language()
    set_language(language)
    yield
    set_language(before)


@pytest.fixture
def in_english() -> Iterator[None]:
    yield from _speaking("en")


@pytest.fixture
def in_chinese() -> Iterator[None]:
    yield from _speaking("zh_CN")


@pytest.fixture
def tablet(tmp_path: Path, in_english: None) -> Iterator[World]:
    """A tablet with the demo ledger, in English."""
    w = make_world(tmp_path)
    yield w
    w.store.close()
