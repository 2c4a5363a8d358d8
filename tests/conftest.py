"""Test-wide guards and real services.

* No network but loopback, no real model: every socket connection to a non-loopback address
  fails, and the OpenAI endpoint points at a closed local port.
* A real PostgreSQL server, started per test worker from the installed binaries (``.ci/run``
  installs them), for the tests parametrized over SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._postgres import PostgresServer, start_postgres

REPO = Path(__file__).resolve().parent.parent
TAUBENCH_RETAIL = Path(
    os.environ.get("RESOLVE_TAUBENCH_RETAIL", REPO.parent / "shared/benchmarks/tau-bench/retail")
)

os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
os.environ["OPENAI_API_KEY"] = "test-key-no-network"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


class NetworkBlocked(RuntimeError):
    """Raised when a test tries to reach a non-loopback address."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, str | bytes):
        return True  # AF_UNIX socket path
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    return host in {"localhost", "::1"} or host.startswith("127.")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def taubench_retail_dir() -> Path:
    """The public tau-bench retail data folder (read from ../shared, never copied)."""
    if not (TAUBENCH_RETAIL / "users.json").exists():
        pytest.fail(
            f"tau-bench retail data not found at {TAUBENCH_RETAIL}; "
            "set RESOLVE_TAUBENCH_RETAIL to the folder"
        )
    return TAUBENCH_RETAIL


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on a loopback port, for this test worker."""
    external = os.environ.get("RESOLVE_TEST_POSTGRES_URL")
    if external:
        yield PostgresServer(url=external, data_dir=None, bin_dir=None)
        return
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over both databases."""
    return str(request.param)


@pytest.fixture
def empty_db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database of the parametrized kind."""
    if db_kind == "sqlite":
        yield str(tmp_path / "retail.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
