"""Opening the retail database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from tools._sql import SqlBackend
from tools.retail._schema import Order, Product, User, retail_metadata

__all__ = ["open_retail_backend", "retail_counts"]


def open_retail_backend(
    url_or_path: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    create: bool = True,
) -> SqlBackend:
    """Open (and by default create the tables of) the retail database at ``url_or_path``.

    Args:
        url_or_path: A SQLite file path or a SQLAlchemy URL (``postgresql://...``).
        clock: Source of "now" for timestamps the tools write.
        create: Create missing tables.
    """
    backend = SqlBackend(url_or_path, retail_metadata, clock=clock)
    if create:
        backend.create_schema()
    return backend


def retail_counts(backend: SqlBackend) -> dict[str, int]:
    """Return how many users, products and orders the database holds."""

    def count(session_model: type[User] | type[Product] | type[Order]) -> int:
        return backend.read(
            lambda s: s.scalar(select(func.count()).select_from(session_model)) or 0
        )

    return {"users": count(User), "products": count(Product), "orders": count(Order)}
