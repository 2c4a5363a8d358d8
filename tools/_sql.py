"""A SQLAlchemy-backed business system: engines, transactions, idempotency, transient faults.

Every domain backend (retail now, airline later) builds on :class:`SqlBackend`, so SQLite and
PostgreSQL work with the same code and every write gets the same guarantees: one transaction
per write, the idempotency record committed in that same transaction, and database faults that
may go away on retry surfaced as :class:`~tools.errors.TransientBackendError`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from tools.errors import ToolConfigError, ToolError, TransientBackendError

__all__ = [
    "IdempotencyRecord",
    "SqlBackend",
    "UTCDateTime",
    "WriteOutcome",
    "database_url",
    "request_hash",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_TRANSIENT_MARKERS = (
    "database is locked",
    "database is busy",
    "deadlock detected",
    "could not serialize access",
    "server closed the connection",
    "connection refused",
    "terminating connection",
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ToolConfigError(f"timestamps must be time-zone aware datetimes, not {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


class _IdempotencyBase(DeclarativeBase):
    metadata = MetaData()


class IdempotencyRecord(_IdempotencyBase):
    """An applied write: its key, what was asked, and the result that was returned."""

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tool: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class WriteOutcome(Generic[T]):
    """What a write returned and whether it was a replay of an earlier, identical request."""

    result: T
    replayed: bool


def database_url(url_or_path: str | Path) -> str:
    """Turn a ``--db`` value (a SQLAlchemy URL or a file path) into a SQLAlchemy URL.

    ``postgresql://`` and ``postgres://`` URLs are pointed at the psycopg 3 driver; anything
    without ``://`` is a SQLite file path (its folder is created).

    Raises:
        ToolConfigError: The value is empty or names an unsupported database.
    """
    text = str(url_or_path).strip()
    if not text:
        raise ToolConfigError("empty database location: pass a file path or a SQLAlchemy URL")
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgres://", "postgresql://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    dialect = make_url(text).get_backend_name()
    if dialect not in {"sqlite", "postgresql"}:
        raise ToolConfigError(
            f"unsupported database {dialect!r} in {text!r}: "
            "use a SQLite path or a postgresql:// URL"
        )
    return text


def request_hash(tool: str, request: dict[str, Any]) -> str:
    """Return a stable hash of a tool name and its JSON-ready arguments."""
    canonical = json.dumps({"tool": tool, "args": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _is_transient(error: DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    text = str(error.orig).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


@dataclass
class _FaultPlan:
    """Test hook: the next ``remaining`` transactions fail as if the database were locked."""

    remaining: int = 0
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            self.injected += 1
            return True


class SqlBackend:
    """A business database reached through SQLAlchemy (SQLite file or PostgreSQL server).

    Args:
        url_or_path: SQLAlchemy URL or SQLite file path (see :func:`database_url`).
        metadata: The domain's table metadata; created by :meth:`create_schema`.
        clock: Source of "now" for stored timestamps.
    """

    def __init__(
        self,
        url_or_path: str | Path,
        metadata: MetaData,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = database_url(url_or_path)
        self._metadata = metadata
        self.clock = clock or (lambda: datetime.now(UTC))
        self._faults = _FaultPlan()
        self.engine = self._create_engine(self.url)
        self._write_engine = self.engine.execution_options(resolve_write=True)
        self.transactions = 0

    @staticmethod
    def _create_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                # Let SQLAlchemy, not the driver, decide when transactions begin.
                dbapi_connection.isolation_level = None
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL survives a process crash (what exactly-once guards against);
                # only a power loss may drop the last commits.
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                # Writes take the write lock up front so two writers never deadlock upgrading.
                immediate = conn.get_execution_options().get("resolve_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

            return engine
        return create_engine(url, pool_pre_ping=True)

    @property
    def dialect(self) -> str:
        """The database kind: ``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def create_schema(self) -> None:
        """Create the domain's tables and the idempotency table if they do not exist."""
        with self._translated():
            self._metadata.create_all(self.engine)
            _IdempotencyBase.metadata.create_all(self.engine)

    def drop_schema(self) -> None:
        """Drop every table of the domain (used to rebuild a database from scratch)."""
        with self._translated():
            _IdempotencyBase.metadata.drop_all(self.engine)
            self._metadata.drop_all(self.engine)

    def inject_transient_faults(self, count: int) -> None:
        """Make the next ``count`` transactions fail with a transient fault (a test hook).

        The fault is raised inside the transaction, just before commit, so whatever the
        transaction did is rolled back - the same as a real lock timeout at commit.
        """
        self._faults.remaining = count

    @property
    def injected_faults(self) -> int:
        """How many injected faults have fired so far."""
        return self._faults.injected

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as error:
            if _is_transient(error):
                raise TransientBackendError(f"transient database fault: {error.orig}") from error
            raise
        except DBAPIError as error:
            if _is_transient(error):
                raise TransientBackendError(f"transient database fault: {error.orig}") from error
            raise

    def _maybe_fault(self) -> None:
        if self._faults.take():
            raise TransientBackendError("transient database fault: database is locked (injected)")

    def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a read-only transaction and return its result."""
        self.transactions += 1
        with self._translated(), Session(self.engine) as session, session.begin():
            result = work(session)
            self._maybe_fault()
            return result

    def session(self) -> Session:
        """Open a plain session (for loaders and exporters that manage their own commit)."""
        return Session(self._write_engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction on a plain connection (SQLAlchemy Core, no ORM unit of work).

        Committed when the block ends, rolled back when it raises; on SQLite it takes the
        write lock up front (``BEGIN IMMEDIATE``), as :meth:`write` does.
        """
        self.transactions += 1
        with self._translated(), self._write_engine.begin() as connection:
            yield connection

    def write(
        self,
        work: Callable[[Session], M],
        *,
        tool: str,
        request: dict[str, Any],
        idempotency_key: str | None,
        output_model: type[M],
    ) -> WriteOutcome[M]:
        """Run ``work`` as one write transaction, recording the idempotency key with the effect.

        With a key that was applied before for the same request, ``work`` is not run: the stored
        result comes back with ``replayed=True``. A key reused for a different request is a
        :class:`ToolError`. A :class:`ToolError` raised by ``work`` rolls everything back.
        """
        self.transactions += 1
        digest = request_hash(tool, request)
        try:
            with self._translated(), Session(self._write_engine) as session, session.begin():
                if idempotency_key is not None:
                    self._serialize_key(session, idempotency_key)
                    stored = self._stored(session, idempotency_key, digest, output_model)
                    if stored is not None:
                        return WriteOutcome(stored, replayed=True)
                result = work(session)
                if idempotency_key is not None:
                    session.add(
                        IdempotencyRecord(
                            key=idempotency_key,
                            tool=tool,
                            request_hash=digest,
                            result_json=result.model_dump_json(),
                            created_at=self.clock(),
                        )
                    )
                    session.flush()
                self._maybe_fault()
                return WriteOutcome(result, replayed=False)
        except IntegrityError:
            # Another worker committed the same key between our check and our insert.
            if idempotency_key is None:
                raise
            with Session(self.engine) as session:
                stored = self._stored(session, idempotency_key, digest, output_model)
            if stored is None:
                raise
            return WriteOutcome(stored, replayed=True)

    def _serialize_key(self, session: Session, key: str) -> None:
        """Make concurrent writes with one key wait for each other (PostgreSQL).

        Without it, two callers could both miss the stored record; the second would then
        fail on the state the first left ("not pending") instead of replaying. SQLite needs
        nothing: its write transactions (BEGIN IMMEDIATE) are serial already.
        """
        if self.dialect == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )

    @staticmethod
    def _stored(session: Session, key: str, digest: str, output_model: type[M]) -> M | None:
        record = session.get(IdempotencyRecord, key)
        if record is None:
            return None
        if record.request_hash != digest:
            raise ToolError(
                f"idempotency key {key!r} was already used for a different request",
                code="idempotency_key_conflict",
            )
        return output_model.model_validate_json(record.result_json)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
