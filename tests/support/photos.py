"""A phone's photo as a worker sends it with a report: a JPEG carrying EXIF (the phone's
make and a GPS position), which the server must strip before it keeps the photo."""

from __future__ import annotations

import io

from PIL import Image


def photo_with_gps(width: int = 2400, height: int = 1800) -> bytes:
    img = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (25.0, 2.0, 0.0), 3: "E", 4: (102.0, 42.0, 0.0)}  # GPS
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    assert Image.open(io.BytesIO(out.getvalue())).getexif()  # the test photo carries EXIF
    return out.getvalue()
