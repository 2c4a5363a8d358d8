"""Start a throwaway PostgreSQL cluster from the installed binaries (no Docker, no network)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if candidates:
        return Path(candidates[-1]).parent
    raise RuntimeError(
        "PostgreSQL is not installed: run `bash .ci/services` (apt-get install postgresql) "
        "or set RESOLVE_TEST_POSTGRES_URL to a server you own"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server and how to reach it."""

    url: str
    data_dir: Path | None
    bin_dir: Path | None

    def _admin(self):  # type: ignore[no-untyped-def]
        return create_engine(
            make_url(self.url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`."""
        name = make_url(url).database
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.data_dir is None or self.bin_dir is None:
            return
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"])
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _run(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")


def start_postgres() -> PostgresServer:
    """Initialise and start a throwaway cluster on a free loopback port.

    As root (CI), the cluster belongs to the ``postgres`` user, since initdb refuses root.
    """
    bin_dir = _bin_dir()
    workdir = Path(tempfile.mkdtemp(prefix="resolve-pg-"))
    data_dir = workdir / "data"
    socket_dir = workdir / "sock"
    socket_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(workdir, 0o755)
        shutil.chown(workdir, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = _free_port()
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]
    )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = workdir / "server.log"
    _run(
        [
            *(str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(log)),
            *("-o", options, "-w", "-t", "60", "start"),
        ]
    )
    return PostgresServer(
        url=f"postgresql://postgres@127.0.0.1:{port}/postgres", data_dir=data_dir, bin_dir=bin_dir
    )
