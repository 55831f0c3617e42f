"""A drawn signature: the strokes a finger made on the pad, as a PNG for the record.

Kivy-free: the pad widget only forwards touch points here, so presenters and their
tests handle signatures without a window. The PNG is drawn by this module (a small
rasteriser and a PNG writer over zlib), so the same strokes always give the same
bytes and therefore the same SHA-256 that the signature in the chain names.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass, field

WIDTH, HEIGHT = 600, 200  # the stored image, whatever the pad's size on screen
PEN_RADIUS = 2
# A scribble of a few points is not a signature: at least this much ink.
MIN_POINTS = 8
MIN_EXTENT = 0.1  # of the pad's width or height


@dataclass
class SignatureDrawing:
    """Strokes in pad coordinates from 0 to 1 (x to the right, y upwards, as Kivy)."""

    strokes: list[list[tuple[float, float]]] = field(default_factory=list)

    def begin(self, x: float, y: float) -> None:
        self.strokes.append([(_clip(x), _clip(y))])

    def extend(self, x: float, y: float) -> None:
        if not self.strokes:
            self.begin(x, y)
        else:
            self.strokes[-1].append((_clip(x), _clip(y)))

    def clear(self) -> None:
        self.strokes.clear()

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.strokes)

    def is_signature(self) -> bool:
        """Enough ink to be a mark a person made on purpose."""
        pts = [p for s in self.strokes for p in s]
        if len(pts) < MIN_POINTS:
            return False
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return max(xs) - min(xs) >= MIN_EXTENT or max(ys) - min(ys) >= MIN_EXTENT

    def to_png(self, width: int = WIDTH, height: int = HEIGHT) -> bytes:
        """Black ink on white, 8-bit greyscale."""
        ink = bytearray(b"\xff" * (width * height))

        def dot(cx: int, cy: int) -> None:
            for dy in range(-PEN_RADIUS, PEN_RADIUS + 1):
                for dx in range(-PEN_RADIUS, PEN_RADIUS + 1):
                    if dx * dx + dy * dy <= PEN_RADIUS * PEN_RADIUS:
                        x, y = cx + dx, cy + dy
                        if 0 <= x < width and 0 <= y < height:
                            ink[y * width + x] = 0

        for stroke in self.strokes:
            pixels = [(round(x * (width - 1)), round((1 - y) * (height - 1))) for x, y in stroke]
            dot(*pixels[0])
            for (x0, y0), (x1, y1) in itertools.pairwise(pixels):
                steps = max(abs(x1 - x0), abs(y1 - y0), 1)
                for i in range(1, steps + 1):
                    dot(x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps)
        return png_grey(width, height, bytes(ink))


def png_grey(width: int, height: int, pixels: bytes) -> bytes:
    raw = b"".join(b"\x00" + pixels[row * width : (row + 1) * width] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _clip(v: float) -> float:
    return min(1.0, max(0.0, float(v)))
