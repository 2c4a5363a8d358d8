"""The runtime facade: ``ResolutionAgent`` - send a message, get the agent's reply.

Channels, evals and the CLI all drive the agent through this class, in process. A
conversation is a LangGraph thread: its state lives in the checkpointer, its transcript and
audit trail in the framework store, so a process can stop between any two nodes and another
one picks the conversation up.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from agents._checkpoints import open_checkpointer
from agents._context import AgentContext
from agents._graph import AUDIT_RECORDED, build_graph
from agents._planner import Knowledge, Planner
from agents._state import AgentState, Entry, initial_state
from agents._steps import Status
from agents._store import FrameworkStore
from agents.errors import AgentConfigError, ConversationBusy
from policies import CompiledPack, PolicyEngine, load_pack
from tools import SqlBackend, ToolRegistry
from tools.retail import open_retail_backend, retail_registry

__all__ = ["AgentEvent", "Reply", "ResolutionAgent"]

_REMEMBERED = 10_000
"""Conversations whose last recorded audit event an agent keeps in mind."""


_GRAPHS: weakref.WeakKeyDictionary[BaseCheckpointSaver[str], Any] = weakref.WeakKeyDictionary()


def _compiled(checkpointer: BaseCheckpointSaver[str]) -> Any:
    """The graph compiled with ``checkpointer``, once per checkpointer.

    The compiled graph holds no run state (the backend, planner and store arrive as the
    run's context), so agents sharing a checkpointer share it too: an eval run builds one
    agent per trial without compiling the graph each time.
    """
    graph = _GRAPHS.get(checkpointer)
    if graph is None:
        graph = build_graph().compile(checkpointer=checkpointer)
        _GRAPHS[checkpointer] = graph
    return graph


class Reply(BaseModel):
    """What one turn produced.

    Attributes:
        conversation_id: The conversation.
        text: The agent's message(s) of the turn, joined.
        messages: The agent's messages of the turn.
        status: Where the conversation stands now.
        actions: Tool calls run this turn (``name``, ``args``, ``ok``, ``result``).
        decisions: Policy decisions that held a call back this turn.
        review_id: The open review item when the conversation waits for a reviewer.
    """

    conversation_id: str
    text: str
    messages: list[str]
    status: Status
    actions: list[dict[str, Any]] = Field(default_factory=list)
    decisions: list[dict[str, Any]] = Field(default_factory=list)
    review_id: str | None = None


class AgentEvent(BaseModel):
    """A streamed event of a turn: a node finished, a tool ran, a decision, a message."""

    type: Literal["node", "tool", "decision", "message", "status"]
    node: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def _split(entries: list[Entry]) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    messages = [str(e.get("text", "")) for e in entries if e.get("kind") == "agent"]
    actions = [
        {"name": e.get("name"), "args": e.get("args"), "ok": e.get("ok"),
         "result": e.get("result"), "replayed": e.get("replayed", False)}
        for e in entries
        if e.get("kind") == "tool"
    ]  # fmt: skip
    decisions = [
        {"name": e.get("name"), "args": e.get("args"), "effect": e.get("effect"),
         "rules": e.get("rules", []), "messages": e.get("messages", [])}
        for e in entries
        if e.get("kind") == "decision"
    ]  # fmt: skip
    return messages, actions, decisions


class ResolutionAgent:
    """A resolution agent over one business backend.

    Args:
        backend: The business system (retail database).
        planner: What proposes each step (scripted, openai, offline).
        store: The framework's records.
        checkpointer: LangGraph checkpointer (default: in memory).
        registry: The domain's tools (default: retail).
        pack: The policy pack (a compiled pack, a name or a YAML path; default ``"retail"``).
        knowledge: Policy passages for model planners.
        clock: Source of "now".
        max_steps_per_turn: Planner steps in one turn before handing off.
    """

    def __init__(
        self,
        *,
        backend: SqlBackend,
        planner: Planner,
        store: FrameworkStore,
        checkpointer: BaseCheckpointSaver[str] | None = None,
        registry: ToolRegistry | None = None,
        pack: CompiledPack | str | Path = "retail",
        knowledge: Knowledge | None = None,
        clock: Callable[[], datetime] | None = None,
        max_steps_per_turn: int = 20,
    ) -> None:
        from langgraph.checkpoint.memory import InMemorySaver

        self.registry = registry or retail_registry()
        effects = {t.name: t.effect for t in self.registry}
        compiled = pack if isinstance(pack, CompiledPack) else load_pack(pack, known_tools=effects)
        self.engine = PolicyEngine(compiled, effects, audit=store)
        self.store = store
        self.planner = planner
        self.context = AgentContext(
            registry=self.registry,
            backend=backend,
            engine=self.engine,
            planner=planner,
            store=store,
            knowledge=knowledge,
            clock=clock or (lambda: datetime.now(UTC)),
            max_steps_per_turn=max_steps_per_turn,
        )
        self.checkpointer = checkpointer or InMemorySaver()
        self.graph = _compiled(self.checkpointer)
        self._stack: AsyncExitStack | None = None
        # Per conversation, the seq of the last audit event this process saw the store take:
        # the next turn drops those events from the checkpoint (a miss only keeps them longer).
        self._recorded: dict[str, int] = {}

    @classmethod
    async def open(
        cls,
        *,
        retail_db: str | Path,
        store: str | Path,
        checkpoints: str | Path | None,
        planner: Planner,
        **options: Any,
    ) -> ResolutionAgent:
        """Build an agent from locations; close it with :meth:`aclose`.

        Args:
            retail_db: The business database (SQLite path or URL).
            store: The framework store (SQLite path or URL).
            checkpoints: ``"memory"``, a SQLite path or a ``postgresql://`` URL.
            planner: The planner.
            **options: Passed to the constructor (pack, knowledge, clock...).
        """
        stack = AsyncExitStack()
        saver = await open_checkpointer(checkpoints, stack)
        agent = cls(
            backend=open_retail_backend(retail_db),
            planner=planner,
            store=FrameworkStore(store),
            checkpointer=saver,
            **options,
        )
        agent._stack = stack
        return agent

    async def aclose(self) -> None:
        """Close the checkpointer and the databases."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        self.context.backend.dispose()
        self.store.dispose()

    async def __aenter__(self) -> ResolutionAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @staticmethod
    def _config(conversation_id: str) -> RunnableConfig:
        if not conversation_id or len(conversation_id) > 200:
            raise AgentConfigError("a conversation id is 1 to 200 characters")
        return RunnableConfig(configurable={"thread_id": conversation_id}, recursion_limit=200)

    def _run_config(self, conversation_id: str) -> RunnableConfig:
        config = self._config(conversation_id)
        recorded = self._recorded.get(conversation_id, 0)
        config["configurable"] = {**config.get("configurable", {}), AUDIT_RECORDED: recorded}
        return config

    async def state(self, conversation_id: str) -> AgentState:
        """The conversation's current state (the initial state when it is new)."""
        snapshot = await self.graph.aget_state(self._config(conversation_id))
        values: AgentState = cast(AgentState, snapshot.values or initial_state())
        return values

    async def _run(self, conversation_id: str, payload: Any, before: int) -> Reply:
        """Run the graph; ``before`` is the trace's length before the run."""
        config = self._run_config(conversation_id)
        values = await self.graph.ainvoke(payload, config, context=self.context)
        return await self._reply(conversation_id, values, before)

    async def _reply(self, conversation_id: str, values: dict[str, Any], before: int) -> Reply:
        """Record the turn in the store (one transaction) and say what it produced.

        The store write runs in a thread: a blocking database call must not stall the
        event loop that other conversations' turns (and model calls) share.
        """
        state = cast(AgentState, values)
        trace = state.get("trace", [])
        messages, actions, decisions = _split(trace[before:])
        pending = state.get("pending")
        review_id = pending.get("review_id") if pending and state.get(
            "status") == "awaiting_review" else None  # fmt: skip
        status: Status = state.get("status", "active")
        # Everything said so far: the store appends what it lacks (after a crash, this
        # includes earlier turns), and the audit events past the last one it holds.
        said = [
            (str(e.get("kind")), str(e.get("text", "")))
            for e in trace
            if e.get("kind") in ("customer", "agent")
        ]
        recorded = await asyncio.to_thread(
            self.store.record_turn,
            conversation_id,
            said,
            status=status,
            customer_id=state.get("customer_id"),
            turn=state.get("turn", 0),
            events=state.get("audit", []),
        )
        self._remember(conversation_id, recorded)
        return Reply(
            conversation_id=conversation_id,
            text="\n\n".join(messages),
            messages=messages,
            status=status,
            actions=actions,
            decisions=decisions,
            review_id=review_id,
        )

    def _remember(self, conversation_id: str, recorded: int) -> None:
        self._recorded.pop(conversation_id, None)
        self._recorded[conversation_id] = recorded
        if len(self._recorded) > _REMEMBERED:
            del self._recorded[next(iter(self._recorded))]

    async def send(self, conversation_id: str, text: str) -> Reply:
        """Deliver a customer message and run the turn until the agent has something to say.

        Raises:
            ConversationBusy: The conversation waits for a reviewer, or a previous run was
                cut off (call :meth:`resume` first).
        """
        snapshot = await self.graph.aget_state(self._config(conversation_id))
        if snapshot.next or snapshot.tasks:
            if snapshot.interrupts:
                raise ConversationBusy(
                    f"conversation {conversation_id} is waiting for a reviewer's decision"
                )
            raise ConversationBusy(
                f"conversation {conversation_id} has an unfinished turn: call resume() first"
            )
        payload: dict[str, Any] = {"inbox": text}
        if not snapshot.values:
            payload = {**initial_state(), "inbox": text}
        before = len((snapshot.values or {}).get("trace", []))
        return await self._run(conversation_id, payload, before)

    async def resume(self, conversation_id: str) -> Reply | None:
        """Finish a turn a crash cut off (no-op when nothing is unfinished)."""
        snapshot = await self.graph.aget_state(self._config(conversation_id))
        if snapshot.interrupts:
            return None
        before = len((snapshot.values or {}).get("trace", []))
        if not (snapshot.next or snapshot.tasks):
            if snapshot.values:
                # The turn finished but the crash came before its messages were recorded.
                await self._reply(conversation_id, snapshot.values, before)
            return None
        return await self._run(conversation_id, None, before)

    async def decide(
        self,
        review_id: str,
        decision: Literal["approve", "reject", "edit"],
        *,
        reviewer: str,
        reason: str = "",
        args: dict[str, Any] | None = None,
    ) -> Reply:
        """Apply a reviewer's decision and resume the paused conversation (exactly once).

        Raises:
            AgentConfigError: Unknown review item, or an edit without arguments.
        """
        if decision == "edit" and not isinstance(args, dict):
            raise AgentConfigError("an edit needs the edited arguments")
        item = self.store.get_review(review_id)
        if item is None:
            raise AgentConfigError(f"no review item {review_id!r}")
        recorded = self.store.decide_review(
            review_id, decision=decision, reviewer=reviewer, reason=reason, edited_args=args
        )
        snapshot = await self.graph.aget_state(self._config(item.thread_id))
        before = len(snapshot.values.get("trace", []))
        if not snapshot.interrupts:
            # Already resumed (a repeated decide): report the conversation as it stands.
            return await self._reply(item.thread_id, snapshot.values, before)
        resume = {
            "decision": recorded.decision,
            "reviewer": recorded.reviewer,
            "reason": recorded.reason,
            "args": recorded.edited_args,
        }
        return await self._run(item.thread_id, Command(resume=resume), before)

    async def stream(self, conversation_id: str, text: str) -> AsyncIterator[AgentEvent]:
        """Like :meth:`send`, yielding events as nodes finish; the last is the status."""
        config = self._config(conversation_id)
        snapshot = await self.graph.aget_state(config)
        if snapshot.next or snapshot.tasks:
            raise ConversationBusy(f"conversation {conversation_id} is not ready for a message")
        before = len((snapshot.values or {}).get("trace", []))
        payload: dict[str, Any] = {"inbox": text}
        if not snapshot.values:
            payload = {**initial_state(), "inbox": text}
        async for update in self.graph.astream(
            payload,
            self._run_config(conversation_id),
            context=self.context,
            stream_mode="updates",
        ):
            for node, values in update.items():
                yield AgentEvent(type="node", node=node)
                for entry in (values or {}).get("trace", []) if isinstance(values, dict) else []:
                    kind = entry.get("kind")
                    if kind == "tool":
                        yield AgentEvent(type="tool", node=node, data=dict(entry))
                    elif kind == "decision":
                        yield AgentEvent(type="decision", node=node, data=dict(entry))
                    elif kind == "agent":
                        yield AgentEvent(type="message", node=node, data={"text": entry["text"]})
        final = await self.graph.aget_state(config)
        reply = await self._reply(conversation_id, final.values, before)
        yield AgentEvent(type="status", data={"status": reply.status, "review_id": reply.review_id})

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every customer and agent message of the conversation, from the store."""
        return self.store.transcript(conversation_id)
