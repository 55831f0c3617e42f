"""The machine's processes as ``/proc`` lists them (Linux): what the storm's worker
kills and its CPU split both read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    name: str  # the kernel's command name (``comm``)
    parent: int
    cpu_ticks: int  # user + system, its own and its reaped children's, in clock ticks
    cmdline: bytes  # NUL-separated


def processes() -> list[Proc]:
    """Every process now; one that ends while it is read is left out."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        # The name is in parentheses and may hold spaces: the fields follow the last ")".
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat.rsplit(")", 1)[1].split()
        ticks = sum(int(v) for v in rest[11:15])  # utime, stime, cutime, cstime
        out.append(Proc(int(entry), name, int(rest[1]), ticks, cmdline))
    return out
