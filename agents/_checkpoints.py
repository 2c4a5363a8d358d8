"""Where conversations are checkpointed: memory, a SQLite file, or PostgreSQL."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

__all__ = ["open_checkpointer"]


async def open_checkpointer(
    location: str | Path | None, stack: AsyncExitStack
) -> BaseCheckpointSaver[str]:
    """Open a checkpointer; ``stack`` closes it.

    Args:
        location: ``None`` or ``"memory"`` for memory; a ``postgresql://`` URL for
            ``AsyncPostgresSaver``; anything else is a SQLite file for ``AsyncSqliteSaver``.
        stack: Owns the checkpointer's connection.
    """
    if location is None or str(location) == "memory":
        return InMemorySaver()
    text = str(location)
    if text.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        url = text.replace("postgresql+psycopg://", "postgresql://", 1)
        postgres = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(url))
        await postgres.setup()
        return postgres
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(text.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(path)))
    await sqlite.setup()
    # As the store and the business database: a commit survives a process crash without
    # waiting for an fsync (a power loss may drop the last commits, never corrupt the file).
    await sqlite.conn.execute("PRAGMA journal_mode=WAL")
    await sqlite.conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite
