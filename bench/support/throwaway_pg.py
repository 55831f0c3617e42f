"""A throwaway PostgreSQL cluster for the tests and the benchmarks: ``initdb`` and
``pg_ctl -w`` in a temp dir on a free loopback port, run as the ``cspermit-pg`` system
user when we are root (initdb refuses root; scripts/setup.sh creates the user). Not
used by a running server."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

PG_USER = "cspermit-pg"


def find_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: PATH, then Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


SERVER_SETTINGS = Path(__file__).resolve().parents[2] / "deploy" / "postgresql.conf"


def server_settings(path: Path = SERVER_SETTINGS) -> dict[str, str]:
    """The settings docs/server.md gives a cspermit server's PostgreSQL
    (``deploy/postgresql.conf``: ``name = value`` lines, ``#`` comments)."""
    out: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, bin_dir: Path, prefix: str = "cspermit-pg-") -> None:
        self.bin_dir = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, user=PG_USER)
            self.as_user = ["runuser", "-u", PG_USER, "--"]
        self.counter = itertools.count()  # for callers naming one database each

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=300)

    def start(self, *, durable: bool = True, settings: dict[str, str] | None = None) -> None:
        """``durable=False`` (tests): no fsync, for speed; the benchmarks measure a
        cluster that syncs like a real one, with ``settings`` (``server_settings()``)."""
        data = str(self.dir / "data")
        initdb = [str(self.bin_dir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust"]
        self._run(*initdb, "-E", "UTF8", *([] if durable else ["--no-sync"]))
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        if not durable:
            opts += " -c fsync=off"
        for name, value in (settings or {}).items():
            opts += f" -c {name}={value}"
        log = str(self.dir / "log")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", data, "-o", opts, "-l", log, "-w", "start")

    def stop(self) -> None:
        try:
            data = str(self.dir / "data")
            self._run(str(self.bin_dir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(sql))
        finally:
            engine.dispose()
