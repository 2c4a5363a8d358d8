"""Reading a conversation's state: messages, tool results and decisions, in trace order.

The offline planner keeps no memory of its own: every decision starts from the state's
trace, so a conversation resumed by another process is planned exactly as it would have been.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents._state import AgentState
from agents.planners.offline._texts import asked_for

__all__ = ["Conversation", "CustomerMessage", "Event"]

_WRITES = frozenset(
    {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
        "reroute_shipment",
    }
)
_ORDER_RESULTS = _WRITES - {"modify_user_address", "reroute_shipment"}


@dataclass(frozen=True)
class CustomerMessage:
    """A customer message and what the agent had asked just before it.

    Attributes:
        index: Position in the trace.
        text: The message.
        asked: The facts the preceding agent message asked for.
        after_confirmation: The preceding agent message asked to confirm an action.
        after_anything_else: The preceding agent message asked whether anything else is needed.
    """

    index: int
    text: str
    asked: frozenset[str]
    after_confirmation: bool
    after_anything_else: bool


@dataclass(frozen=True)
class Event:
    """A tool call, a policy decision, a review or an agent message, in trace order."""

    index: int
    kind: str
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    result: Any = None
    effect: str = ""
    messages: tuple[str, ...] = ()
    text: str = ""
    decision: str = ""

    @property
    def is_write(self) -> bool:
        """Whether the event concerns a write tool."""
        return self.name in _WRITES

    def error(self) -> str:
        """A failed tool call's message."""
        if isinstance(self.result, dict):
            return str(self.result.get("error") or self.result.get("message") or self.result)
        return str(self.result)


class Conversation:
    """Everything the planner knows, read from the state.

    Args:
        state: The conversation's state.
    """

    def __init__(self, state: AgentState) -> None:
        self.state = state
        self.trace = list(state.get("trace", []))
        self.user_id: str | None = state.get("customer_id")
        self.messages: list[CustomerMessage] = []
        self.events: list[Event] = []
        self.user: dict[str, Any] | None = None
        self.user_stale = False
        """A write since the profile was read may have changed its balances."""
        self.orders: dict[str, dict[str, Any]] = {}
        self.order_errors: dict[str, int] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.product_errors: set[str] = set()
        self.tracking: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.catalogue: dict[str, str] | None = None
        self.auth_failures: list[Event] = []
        self.auth_tried: set[tuple[str, ...]] = set()
        self._read()

    def _read(self) -> None:
        last_agent = ""
        for index, entry in enumerate(self.trace):
            kind = entry.get("kind")
            if kind == "customer":
                lowered = last_agent.lower()
                self.messages.append(
                    CustomerMessage(
                        index=index,
                        text=str(entry.get("text", "")),
                        asked=asked_for(last_agent),
                        after_confirmation="to confirm: i will" in lowered,
                        after_anything_else="anything else" in lowered,
                    )
                )
            elif kind == "agent":
                last_agent = str(entry.get("text", ""))
                self.events.append(Event(index, "agent", text=last_agent))
            elif kind == "tool":
                event = Event(
                    index,
                    "tool",
                    name=str(entry.get("name", "")),
                    args=dict(entry.get("args") or {}),
                    ok=bool(entry.get("ok")),
                    result=entry.get("result"),
                )
                self.events.append(event)
                self._absorb(event)
            elif kind == "decision":
                self.events.append(
                    Event(
                        index,
                        "decision",
                        name=str(entry.get("name", "")),
                        args=dict(entry.get("args") or {}),
                        effect=str(entry.get("effect", "")),
                        messages=tuple(str(m) for m in entry.get("messages", [])),
                    )
                )
            elif kind == "review":
                self.events.append(
                    Event(
                        index,
                        "review",
                        name=str(entry.get("name", "")),
                        decision=str(entry.get("decision", "")),
                        text=str(entry.get("reason", "")),
                    )
                )

    def _absorb(self, event: Event) -> None:
        name, args, result = event.name, event.args, event.result
        if name.startswith("find_user_id"):
            self.auth_tried.add(tuple(str(v).lower() for v in args.values()))
            if not event.ok:
                self.auth_failures.append(event)
            return
        if not event.ok or not isinstance(result, dict):
            if name == "get_order_details":
                key = str(args.get("order_id", ""))
                self.order_errors[key] = self.order_errors.get(key, 0) + 1
            if name == "get_product_details":
                self.product_errors.add(str(args.get("product_id", "")))
            return
        if name in _ORDER_RESULTS:
            self.user_stale = True  # a gift card may have paid or been refunded
        if name == "get_user_details":
            self.user = result
            self.user_stale = False
        elif name == "get_order_details" or name in _ORDER_RESULTS:
            if "order_id" in result:
                self.orders[str(result["order_id"])] = result
        elif name == "modify_user_address" and self.user is not None:
            self.user = result
        elif name == "get_product_details":
            self.products[str(result.get("product_id", args.get("product_id")))] = result
        elif name == "track_shipment":
            self.tracking[str(args.get("order_id"))] = result
        elif name == "get_refund_status":
            self.refunds[str(args.get("order_id"))] = result
        elif name == "list_all_product_types":
            self.catalogue = {str(k): str(v) for k, v in result.items()}

    # -- queries -------------------------------------------------------------------------------
    @property
    def last_message(self) -> CustomerMessage | None:
        """The customer's latest message."""
        return self.messages[-1] if self.messages else None

    def agent_texts_after(self, index: int) -> list[str]:
        """Agent messages after trace position ``index``."""
        return [e.text for e in self.events if e.kind == "agent" and e.index > index]

    def said_after(self, index: int, phrase: str) -> bool:
        """Whether an agent message after ``index`` contains ``phrase`` (case-insensitive)."""
        needle = phrase.lower()
        return any(needle in text.lower() for text in self.agent_texts_after(index))

    def times_said_after(self, index: int, phrase: str) -> int:
        """How many agent messages after ``index`` contain ``phrase``."""
        needle = phrase.lower()
        return sum(1 for text in self.agent_texts_after(index) if needle in text.lower())

    def payment_methods(self) -> dict[str, dict[str, Any]]:
        """The verified customer's payment methods by id."""
        methods = (self.user or {}).get("payment_methods") or {}
        return {str(k): dict(v) for k, v in methods.items()}

    def user_orders(self) -> list[str]:
        """The verified customer's order ids, as the profile lists them."""
        return [str(o) for o in (self.user or {}).get("orders") or []]

    def customer_texts(self) -> list[str]:
        """All customer messages, in order."""
        return [m.text for m in self.messages]
