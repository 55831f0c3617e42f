"""The shared protocol vectors, copied into tests/data/protocol-frames/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FRAMES = Path(__file__).resolve().parent.parent / "data" / "protocol-frames"


def load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FRAMES / f"{name}.json").read_text())
    return data


def ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [f"{i}-{'valid' if v['valid'] else v['why']}" for i, v in enumerate(vectors)]
