"""The framework's own records (not the business's): conversations, transcripts, audit, reviews.

One SQLAlchemy database, SQLite under the data directory by default, PostgreSQL by URL. It is
also the policy engine's audit sink, so every decision is persisted with its conversation and
step (PII masked, see :func:`policies.mask_pii`).

The agent writes a turn in one transaction (:meth:`FrameworkStore.record_turn`): the messages
and audit events the store does not have yet, and the conversation's row, which counts what
the store holds so that a turn finished by another process after a crash adds each once.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from agents._state import AuditEntry
from policies import AuditRecord, Decision, mask_pii
from tools._sql import SqlBackend, UTCDateTime

__all__ = ["FrameworkStore", "ReviewItem", "decision_payload", "tool_payload"]

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
    # What the store holds: transcript messages, and the seq of the last audit event.
    messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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


@functools.lru_cache(maxsize=256)
def _masked_json(text: str) -> str:
    return json.dumps(mask_pii(json.loads(text)))


def _mask_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """``mask_pii(record)`` for a JSON object, masking each distinct field once.

    Masking scans every string, and the records an audit payload carries recur: the customer
    in every decision's facts, an order in a decision's facts and then in the result of the
    read it allowed. So each field (with its key: masking may depend on it) is masked from
    its JSON text once and copied after that; what is stored is the same JSON.
    """
    masked: dict[str, Any] = {}
    for key, value in record.items():
        field = {key: value}
        try:
            text = json.dumps(field, allow_nan=False)
        except (TypeError, ValueError):  # not plain JSON: mask it as it is
            masked.update(mask_pii(field))
            continue
        masked.update(json.loads(_masked_json(text)))
    return masked


def decision_payload(args: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    """The audit payload of a policy decision, PII masked.

    Args:
        args: The arguments of the proposed call.
        decision: The decision (effect, rules, messages, pack) and the facts it was taken on.
    """
    dumped = decision.model_dump(mode="json")
    facts = dumped.pop("facts")
    return {"args": mask_pii(dict(args)), "decision": dumped, "facts": _mask_fields(facts)}


def tool_payload(args: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """The audit payload of a tool call, PII masked: its args and what it returned.

    Args:
        args: The call's arguments.
        result: The payload the call returned (its output or its error).
    """
    return _mask_fields({"args": args, "result": result})


# The statements of a turn's transaction, built once: a turn runs them on a plain connection.
_CONVERSATIONS = cast(Table, _Conversation.__table__)
_HELD = (
    select(_CONVERSATIONS.c.messages, _CONVERSATIONS.c.audit_seq)
    .where(_CONVERSATIONS.c.id == bindparam("b_id"))
    .with_for_update()
)
_NEW_CONVERSATION = insert(_CONVERSATIONS)
_ADD_MESSAGES = insert(cast(Table, _Message.__table__))
_ADD_EVENTS = insert(cast(Table, _AuditEvent.__table__))
_SET_TURN = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        customer_id=bindparam("b_customer"),
        turns=bindparam("b_turn"),
        updated_at=bindparam("b_now"),
        messages=bindparam("b_messages"),
        audit_seq=bindparam("b_seq"),
    )
)
_SET_SEQ = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("b_id"))
    .values(audit_seq=bindparam("b_seq"))
)


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
        self._upgrade()

    def dispose(self) -> None:
        """Close pooled connections."""
        self._db.dispose()

    @property
    def dialect(self) -> str:
        """The database kind: ``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def _write(self, work: Callable[[Session], Any]) -> Any:
        with self._db.session() as session, session.begin():
            return work(session)

    def _read(self, work: Callable[[Session], Any]) -> Any:
        return self._db.read(work)

    def _upgrade(self) -> None:
        """Add the counting columns to a ``conversations`` table made by an older version."""
        engine = self._db.engine
        columns = {c["name"] for c in inspect(engine).get_columns("conversations")}
        if {"messages", "audit_seq"} <= columns:
            return
        with self._db.transaction() as connection:
            if "messages" not in columns:
                connection.execute(
                    text("ALTER TABLE conversations ADD COLUMN messages INTEGER DEFAULT 0")
                )
                connection.execute(
                    text(
                        "UPDATE conversations SET messages = (SELECT count(*) FROM messages "
                        "WHERE messages.conversation_id = conversations.id)"
                    )
                )
            if "audit_seq" not in columns:
                connection.execute(
                    text("ALTER TABLE conversations ADD COLUMN audit_seq INTEGER DEFAULT 0")
                )

    # -- conversations ---------------------------------------------------------------------
    def record_turn(
        self,
        conversation_id: str,
        said: Sequence[tuple[str, str]],
        *,
        status: str,
        customer_id: str | None,
        turn: int,
        events: Sequence[AuditEntry] = (),
    ) -> int:
        """Bring the store up to date with a conversation after a turn, in one transaction.

        Args:
            conversation_id: The conversation.
            said: Every message of the conversation so far (``(role, text)``), in order; the
                ones past what the store holds are appended (after a crash, this includes
                the messages of turns whose end was never recorded).
            status: Where the conversation stands.
            customer_id: The verified customer.
            turn: Customer messages so far.
            events: Audit events of the conversation; those past the last ``seq`` the store
                holds are appended, in order.

        Returns:
            The ``seq`` of the last audit event the store now holds.
        """
        now = self.clock()

        with self._db.transaction() as connection:
            held_messages, held_seq = self._held(connection, conversation_id, status, now)
            new = list(said[held_messages:])
            if new:
                connection.execute(
                    _ADD_MESSAGES,
                    [
                        {"conversation_id": conversation_id, "role": role, "text": text,
                         "turn": turn, "created_at": now}
                        for role, text in new
                    ],
                )  # fmt: skip
            seq = self._append_events(connection, conversation_id, events, held_seq, now)
            connection.execute(
                _SET_TURN,
                {"b_id": conversation_id, "b_status": status, "b_customer": customer_id,
                 "b_turn": turn, "b_now": now, "b_messages": held_messages + len(new),
                 "b_seq": seq},
            )  # fmt: skip
            return seq

    def record_events(
        self,
        conversation_id: str,
        events: Sequence[AuditEntry],
        *,
        tool_call: tuple[int, str, bool, dict[str, Any]] | None = None,
    ) -> int:
        """Append the audit events the store lacks (by ``seq``), then a tool call, at once.

        The agent calls it right after a write tool ran, so that an applied write never
        waits for the end of the turn for its audit record, which still comes after the
        decision that allowed it.

        Args:
            conversation_id: The conversation.
            events: Audit events of the conversation (as for :meth:`record_turn`).
            tool_call: ``(step, tool, ok, payload)`` of the call, recorded each time (a
                write run again after a crash is recorded again, as a replay).

        Returns:
            The ``seq`` of the last audit event the store now holds.
        """
        now = self.clock()
        with self._db.transaction() as connection:
            _, held_seq = self._held(connection, conversation_id, "active", now)
            seq = self._append_events(connection, conversation_id, events, held_seq, now)
            if tool_call is not None:
                step, tool, ok, payload = tool_call
                connection.execute(
                    _ADD_EVENTS,
                    {"conversation_id": conversation_id, "step": step, "kind": "tool",
                     "tool": tool, "effect": "ok" if ok else "error", "payload": payload,
                     "created_at": now},
                )  # fmt: skip
            if seq != held_seq:
                connection.execute(_SET_SEQ, {"b_id": conversation_id, "b_seq": seq})
            return seq

    @staticmethod
    def _held(
        connection: Connection, conversation_id: str, status: str, now: datetime
    ) -> tuple[int, int]:
        """``(messages, audit_seq)`` the store holds (the row is locked, created if new)."""
        row = connection.execute(_HELD, {"b_id": conversation_id}).first()
        if row is None:
            connection.execute(
                _NEW_CONVERSATION,
                {"id": conversation_id, "status": status, "customer_id": None, "turns": 0,
                 "created_at": now, "updated_at": now, "messages": 0, "audit_seq": 0},
            )  # fmt: skip
            return 0, 0
        return int(row.messages or 0), int(row.audit_seq or 0)

    @staticmethod
    def _append_events(
        connection: Connection,
        conversation_id: str,
        events: Sequence[AuditEntry],
        held_seq: int,
        now: datetime,
    ) -> int:
        new = [e for e in events if e["seq"] > held_seq]
        if new:
            connection.execute(
                _ADD_EVENTS,
                [
                    {"conversation_id": conversation_id, "step": e["step"], "kind": e["kind"],
                     "tool": e["tool"], "effect": e["effect"], "payload": e["payload"],
                     "created_at": now}
                    for e in new
                ],
            )  # fmt: skip
        return max([held_seq, *(e["seq"] for e in new)])

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

    def first_customer_messages(
        self, *, since: datetime | None = None, exclude_prefix: str | None = None
    ) -> list[str]:
        """The first customer message of every conversation (input-drift samples).

        Args:
            since: Only conversations whose first message came at or after this moment.
            exclude_prefix: Leave out conversations whose id starts with this (``eval:``).
        """

        def work(session: Session) -> list[str]:
            first = (
                select(func.min(_Message.id))
                .where(_Message.role == "customer")
                .group_by(_Message.conversation_id)
            )
            query = select(_Message.text).where(_Message.id.in_(first))
            if since is not None:
                query = query.where(_Message.created_at >= since)
            if exclude_prefix:
                query = query.where(
                    ~_Message.conversation_id.startswith(exclude_prefix, autoescape=True)
                )
            return [str(text) for text in session.scalars(query.order_by(_Message.id))]

        found: list[str] = self._read(work)
        return found

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
        payload = decision_payload(record.args, record.decision)
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
