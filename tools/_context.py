"""The per-call context a tool runs with."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tools.errors import ToolConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tools._knowledge import KnowledgeSearch
    from tools._sql import SqlBackend

__all__ = ["ToolContext", "utc_now"]


def utc_now() -> datetime:
    """Return the current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool may use besides its arguments.

    Attributes:
        backend: The business system the tool acts on.
        customer_id: The verified customer of the conversation, or None before authentication.
            Tools do not decide permissions (the policy engine does); they record it.
        idempotency_key: For write tools, the key that makes a repeated call a replay. The
            agent derives it from (conversation, step); None means "not retry-safe".
        clock: The source of "now" for timestamps the tool writes.
        session: The open database session of the current transaction, bound by the registry.
        knowledge: The policy articles (``search_knowledge``), when configured.
    """

    backend: SqlBackend
    customer_id: str | None = None
    idempotency_key: str | None = None
    clock: Callable[[], datetime] = utc_now
    session: Session | None = None
    knowledge: KnowledgeSearch | None = None

    def with_key(self, idempotency_key: str | None) -> ToolContext:
        """Return a copy carrying ``idempotency_key``."""
        return dataclasses.replace(self, idempotency_key=idempotency_key)

    def with_customer(self, customer_id: str | None) -> ToolContext:
        """Return a copy for the verified customer ``customer_id``."""
        return dataclasses.replace(self, customer_id=customer_id)

    def bind(self, session: Session) -> ToolContext:
        """Return a copy bound to the transaction's ``session``."""
        return dataclasses.replace(self, session=session)

    @property
    def db(self) -> Session:
        """The bound session.

        Raises:
            ToolConfigError: The tool was called directly instead of through a registry.
        """
        if self.session is None:
            raise ToolConfigError(
                "tool called without a database session: call it through ToolRegistry.invoke"
            )
        return self.session
