"""Fresh copies of a prepared database, cheaply: a SQLite backup or a PostgreSQL template.

Replaying hundreds of benchmark tasks needs a pristine database per task. Loading the data
each time costs a quarter second; copying a prepared one costs milliseconds. SQLite copies go
through the sqlite3 backup API (safe with WAL), PostgreSQL copies through
``CREATE DATABASE ... TEMPLATE``.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from tools._sql import SqlBackend, database_url
from tools.errors import ToolConfigError

__all__ = ["DatabaseCopies"]


class DatabaseCopies:
    """Prepare a template database once, then hand out fresh copies of it.

    Args:
        base: Where copies live: a folder for SQLite (default: a temporary folder) or a
            ``postgresql://`` server URL (its database is used for administration only).
        metadata: The tables of the domain.
        prefix: Name prefix of the databases created.
    """

    def __init__(
        self, base: str | Path | None, metadata: MetaData, *, prefix: str = "resolve"
    ) -> None:
        self._metadata = metadata
        self._prefix = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count()
        self._created: list[str] = []
        base_text = str(base) if base is not None else ""
        self.postgres = base_text.startswith(("postgres://", "postgresql"))
        if self.postgres:
            self._admin_url = make_url(database_url(base_text))
            self._admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            self._folder: Path | None = None
        else:
            self._folder = Path(base_text) if base_text else Path(tempfile.mkdtemp(prefix="rdb-"))
            self._folder.mkdir(parents=True, exist_ok=True)
        self.template_url: str | None = None

    def _new_url(self, name: str) -> str:
        if self.postgres:
            return self._admin_url.set(database=name).render_as_string(hide_password=False)
        assert self._folder is not None
        return database_url(self._folder / f"{name}.db")

    def prepare(self, fill: Callable[[SqlBackend], None]) -> None:
        """Create the template database and fill it with ``fill(backend)``."""
        name = f"{self._prefix}_template"
        if self.postgres:
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._created.append(name)
        url = self._new_url(name)
        backend = SqlBackend(url, self._metadata)
        try:
            backend.create_schema()
            fill(backend)
        finally:
            backend.dispose()
        self.template_url = url

    def copy(self) -> str:
        """Return the URL of a new database holding what the template holds."""
        if self.template_url is None:
            raise ToolConfigError("call prepare() before copy()")
        name = f"{self._prefix}_{next(self._counter)}"
        if self.postgres:
            template = make_url(self.template_url).database
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            self._created.append(name)
            return self._new_url(name)
        source = make_url(self.template_url).database
        url = self._new_url(name)
        target = make_url(url).database
        assert source is not None and target is not None
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return url

    def discard(self, url: str) -> None:
        """Delete a copy made by :meth:`copy` (callers must have disposed their engines)."""
        name = make_url(url).database
        if not name:
            return
        if self.postgres:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if name in self._created:
                self._created.remove(name)
            return
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Delete every database this object created."""
        if self.postgres:
            with self._admin.connect() as conn:
                for name in reversed(self._created):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._created.clear()
            self._admin.dispose()
