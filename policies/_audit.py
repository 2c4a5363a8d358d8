"""Where decisions go: an audit sink interface and its in-memory implementation."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from policies._types import Decision

__all__ = ["AuditRecord", "AuditSink", "InMemoryAuditSink"]


class AuditRecord(BaseModel):
    """One decision as the audit log keeps it."""

    conversation_id: str
    step: int
    tool: str
    args: dict[str, Any]
    decision: Decision
    recorded_at: datetime | None = None


class AuditSink(Protocol):
    """Receives every decision the engine takes."""

    def record(self, record: AuditRecord) -> None:
        """Store one decision."""
        ...


class InMemoryAuditSink:
    """Keeps records in a list (tests, evals, the CLI). Thread-safe."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self._lock = threading.Lock()

    def record(self, record: AuditRecord) -> None:
        """Append ``record``."""
        with self._lock:
            self.records.append(record)

    def for_conversation(self, conversation_id: str) -> list[AuditRecord]:
        """The records of one conversation, in order."""
        return [r for r in self.records if r.conversation_id == conversation_id]
