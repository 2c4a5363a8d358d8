"""The framework's own records (not the business's): conversations, transcripts, audit, reviews.

One SQLAlchemy database, SQLite under the data directory by default, PostgreSQL by URL. It is
also the policy engine's audit sink, so every decision is persisted with its conversation and
step (PII masked, see :func:`policies.mask_pii`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Integer, MetaData, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from policies import AuditRecord, mask_pii
from tools._sql import SqlBackend, UTCDateTime

__all__ = ["FrameworkStore", "ReviewItem"]

_metadata = MetaData()


class _Base(DeclarativeBase):
    metadata = _metadata


class _Conversation(_Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    turns: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class _Message(_Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    turn: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class _AuditEvent(_Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    step: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(100))
    effect: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class _Review(_Base):
    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    decisions: Mapped[list[Any]] = mapped_column(JSON)
    excerpt: Mapped[list[Any]] = mapped_column(JSON)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(String(20))
    reviewer: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    edited_args: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewItem(BaseModel):
    """An action waiting for (or decided by) a person."""

    id: str
    thread_id: str
    status: str
    action: dict[str, Any]
    decisions: list[Any]
    excerpt: list[Any]
    customer_id: str | None
    note: str
    created_at: datetime
    due_at: datetime
    assignee: str | None = None
    decision: str | None = None
    reviewer: str | None = None
    reason: str | None = None
    edited_args: dict[str, Any] | None = None
    decided_at: datetime | None = None


def _item(row: _Review) -> ReviewItem:
    return ReviewItem.model_validate(row, from_attributes=True)


class FrameworkStore:
    """The framework's database.

    Args:
        url_or_path: A SQLite path or a SQLAlchemy URL.
        clock: Source of "now".
        review_sla: How long a reviewer has before an item is overdue.
    """

    def __init__(
        self,
        url_or_path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        review_sla: timedelta = timedelta(hours=4),
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.review_sla = review_sla
        self._db = SqlBackend(url_or_path, _metadata, clock=self.clock)
        self._db.create_schema()

    def dispose(self) -> None:
        """Close pooled connections."""
        self._db.dispose()

    def _write(self, work: Callable[[Session], Any]) -> Any:
        with self._db.session() as session, session.begin():
            return work(session)

    def _read(self, work: Callable[[Session], Any]) -> Any:
        return self._db.read(work)

    # -- conversations ---------------------------------------------------------------------
    def record_turn(
        self,
        conversation_id: str,
        messages: list[tuple[str, str]],
        *,
        status: str,
        customer_id: str | None,
        turn: int,
    ) -> None:
        """Append a turn's messages (``(role, text)``) and update the conversation's index."""
        now = self.clock()

        def work(session: Session) -> None:
            row = session.get(_Conversation, conversation_id)
            if row is None:
                row = _Conversation(
                    id=conversation_id, status=status, created_at=now, updated_at=now, turns=0
                )
                session.add(row)
            row.status, row.customer_id, row.turns, row.updated_at = status, customer_id, turn, now
            for role, text in messages:
                session.add(
                    _Message(
                        conversation_id=conversation_id,
                        role=role,
                        text=text,
                        turn=turn,
                        created_at=now,
                    )
                )

        self._write(work)

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every message of a conversation, in order."""

        def work(session: Session) -> list[dict[str, Any]]:
            rows = session.scalars(
                select(_Message)
                .where(_Message.conversation_id == conversation_id)
                .order_by(_Message.id)
            )
            return [
                {"role": r.role, "text": r.text, "turn": r.turn, "at": r.created_at} for r in rows
            ]

        result: list[dict[str, Any]] = self._read(work)
        return result

    def conversation_status(self, conversation_id: str) -> str | None:
        """The conversation's last recorded status."""

        def work(session: Session) -> str | None:
            row = session.get(_Conversation, conversation_id)
            return None if row is None else str(row.status)

        found: str | None = self._read(work)
        return found

    # -- audit -----------------------------------------------------------------------------
    def record(self, record: AuditRecord) -> None:
        """Persist a policy decision (the :class:`policies.AuditSink` interface)."""
        payload = {
            "args": mask_pii(record.args),
            "decision": record.decision.model_dump(mode="json", exclude={"facts"}),
            "facts": mask_pii(record.decision.model_dump(mode="json")["facts"]),
        }
        self._add_event(
            record.conversation_id, record.step, "decision", record.tool,
            record.decision.effect, payload,
        )  # fmt: skip

    def record_tool_call(
        self, conversation_id: str, step: int, tool: str, ok: bool, payload: dict[str, Any]
    ) -> None:
        """Persist a tool call and its result (PII masked)."""
        self._add_event(
            conversation_id, step, "tool", tool, "ok" if ok else "error", mask_pii(payload)
        )

    def _add_event(
        self,
        conversation_id: str,
        step: int,
        kind: str,
        tool: str,
        effect: str,
        payload: dict[str, Any],
    ) -> None:
        now = self.clock()
        self._write(
            lambda s: s.add(
                _AuditEvent(
                    conversation_id=conversation_id,
                    step=step,
                    kind=kind,
                    tool=tool,
                    effect=effect,
                    payload=payload,
                    created_at=now,
                )
            )
        )

    def audit_events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The audit trail of a conversation, in order."""

        def work(session: Session) -> list[dict[str, Any]]:
            rows = session.scalars(
                select(_AuditEvent)
                .where(_AuditEvent.conversation_id == conversation_id)
                .order_by(_AuditEvent.id)
            )
            return [
                {
                    "step": r.step,
                    "kind": r.kind,
                    "tool": r.tool,
                    "effect": r.effect,
                    "payload": r.payload,
                }
                for r in rows
            ]

        result: list[dict[str, Any]] = self._read(work)
        return result

    # -- reviews ---------------------------------------------------------------------------
    def create_review(
        self,
        *,
        thread_id: str,
        action: dict[str, Any],
        decisions: list[Any],
        excerpt: list[Any],
        customer_id: str | None,
        note: str,
        review_id: str | None = None,
    ) -> ReviewItem:
        """Open a review item (idempotent on ``review_id``: a re-run node finds its item)."""
        item_id = review_id or uuid.uuid4().hex[:16]
        now = self.clock()

        def work(session: Session) -> ReviewItem:
            row = session.get(_Review, item_id)
            if row is None:
                row = _Review(
                    id=item_id,
                    thread_id=thread_id,
                    status="open",
                    action=action,
                    decisions=decisions,
                    excerpt=mask_pii(excerpt),
                    customer_id=customer_id,
                    note=note,
                    created_at=now,
                    due_at=now + self.review_sla,
                )
                session.add(row)
                session.flush()
            return _item(row)

        result: ReviewItem = self._write(work)
        return result

    def get_review(self, review_id: str) -> ReviewItem | None:
        """The review item, or None."""

        def work(session: Session) -> ReviewItem | None:
            row = session.get(_Review, review_id)
            return None if row is None else _item(row)

        found: ReviewItem | None = self._read(work)
        return found

    def list_reviews(self, status: str | None = "open") -> list[ReviewItem]:
        """Review items, oldest first, optionally of one status."""

        def work(session: Session) -> list[ReviewItem]:
            query = select(_Review).order_by(_Review.created_at, _Review.id)
            if status is not None:
                query = query.where(_Review.status == status)
            return [_item(row) for row in session.scalars(query)]

        result: list[ReviewItem] = self._read(work)
        return result

    def decide_review(
        self,
        review_id: str,
        *,
        decision: str,
        reviewer: str,
        reason: str,
        edited_args: dict[str, Any] | None = None,
    ) -> ReviewItem:
        """Record a reviewer's decision (once: a decided item keeps its first decision)."""
        now = self.clock()

        def work(session: Session) -> ReviewItem:
            row = session.get(_Review, review_id, with_for_update=True)
            if row is None:
                raise KeyError(review_id)
            if row.status == "open":
                row.status = "decided"
                row.decision, row.reviewer, row.reason = decision, reviewer, reason
                row.edited_args, row.decided_at = edited_args, now
            return _item(row)

        result: ReviewItem = self._write(work)
        return result

    def count_reviews(self) -> int:
        """How many review items exist."""
        count: int = self._read(lambda s: s.scalar(select(func.count()).select_from(_Review)))
        return count
