"""The graph's state: a TypedDict with reducers, checkpointed after every node.

Everything in it is plain JSON-ready data so that any checkpointer (memory, SQLite, Postgres)
stores it and a conversation resumes in another process. Run-scoped dependencies (backend,
planner, policy engine, store, clock) are not state: they come through the runtime context.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from agents._steps import Status

__all__ = ["AgentState", "AuditEntry", "Entry", "PendingAction", "initial_state"]


class Entry(TypedDict, total=False):
    """One entry of the conversation's trace, in order.

    ``kind`` is one of:
      * ``customer`` / ``agent`` - a message (``text``);
      * ``tool`` - a tool call and its result (``name``, ``args``, ``call_id``, ``ok``,
        ``result``: the payload the model sees, ``replayed``);
      * ``decision`` - a policy decision on a proposed call (``name``, ``args``, ``effect``,
        ``rules``, ``messages``);
      * ``review`` - a reviewer's decision (``decision``, ``reviewer``, ``reason``).
    """

    kind: Literal["customer", "agent", "tool", "decision", "review"]
    text: str
    name: str
    args: dict[str, Any]
    call_id: str
    ok: bool
    result: Any
    replayed: bool
    effect: str
    rules: list[str]
    messages: list[str]
    decision: str
    reviewer: str
    reason: str
    step: int
    flags: list[str]


class PendingAction(TypedDict):
    """The call the guard decided on: allowed, or held back for a yes or a reviewer.

    An allowed call runs in act next; a held-back write waits for the customer's yes or a
    reviewer's decision. ``prefetched`` is set on an allowed read whose result the guard
    already loaded as a policy fact (``ok`` and ``result``, the payload): act uses it instead
    of reading the same records again.
    """

    name: str
    args: dict[str, Any]
    call_id: str
    effect: str
    rules: list[str]
    review_id: str | None
    prefetched: NotRequired[dict[str, Any] | None]


class AuditEntry(TypedDict):
    """An audit event of the framework store, kept in the state until the store has it.

    The guard's decisions and act's read-tool calls are written to the store once per turn,
    with the transcript, rather than one transaction each. ``seq`` numbers them within the
    conversation, so the store writes each exactly once, whichever process finishes the turn.
    """

    seq: int
    step: int
    kind: Literal["decision", "tool"]
    tool: str
    effect: str
    payload: dict[str, Any]


class AgentState(TypedDict, total=False):
    """The conversation as the graph sees it.

    Attributes:
        trace: Every message, tool call, decision and review, in order (append-only).
        outbox: The agent's messages of the current turn (replaced each turn).
        customer_id: The verified customer, or None before authentication.
        customers_seen: Every customer a lookup returned (one customer per conversation).
        pending: The held-back write, if any.
        confirmed: The customer said yes to exactly ``pending``.
        approved: A reviewer approved exactly ``pending``.
        status: Where the conversation stands.
        step: Planner steps so far: with the thread id, the idempotency key of a write.
        turn: Customer messages so far.
        turn_steps: Planner steps in the current turn (bounded).
        actions_taken: Write tools executed, in order.
        flags: Input-rail flags raised so far.
        proposal: The planner's current proposal (a serialized step).
        summary: The outcome's summary (resolve or escalate reason).
        audit: Audit events not yet known to be in the framework store (see AuditEntry).
        audited: Audit events produced so far: the ``seq`` of the last one.
    """

    trace: Annotated[list[Entry], operator.add]
    outbox: list[str]
    customer_id: str | None
    customers_seen: list[str]
    pending: PendingAction | None
    confirmed: bool
    approved: bool
    status: Status
    step: int
    turn: int
    turn_steps: int
    actions_taken: list[str]
    flags: list[str]
    proposal: dict[str, Any] | None
    summary: str
    audit: Annotated[list[AuditEntry], operator.add]
    audited: int


def initial_state() -> AgentState:
    """The state of a conversation before its first message."""
    return AgentState(
        trace=[],
        outbox=[],
        customer_id=None,
        customers_seen=[],
        pending=None,
        confirmed=False,
        approved=False,
        status="active",
        step=0,
        turn=0,
        turn_steps=0,
        actions_taken=[],
        flags=[],
        proposal=None,
        summary="",
        audit=[],
        audited=0,
    )
