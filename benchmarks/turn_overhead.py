"""Per-turn framework overhead of the agent graph, with a planner that costs nothing.

One turn is one customer message that leads to one read tool call (``get_order_details`` on
the authenticated customer's order) and a final reply. Ours runs the whole graph (ingest, plan,
guard with the policy engine's facts and decision, act, plan, respond, a checkpoint after every
node, then the turn's transcript and audit events in the framework store, one commit) with
:class:`agents.testing.ScriptedPlanner`; a warm-up turn authenticates the customer with
``find_user_id_by_email`` first. Ours reads more than the peer by design: the guard's facts
are the customer's record and the order (one read transaction; act reuses that order read).

Peer, measured in the same run: LangGraph's prebuilt ReAct agent
(``langgraph.prebuilt.create_react_agent``; its 1.x successor ``langchain.agents.create_agent``
is not installed) with a fake chat model that emits the same tool call and then a final
message, and the same retail tools wrapped as LangChain tools calling
``retail_registry().invoke`` on the same seeded SQLite database. Both run with the in-memory
checkpointer and with ``AsyncSqliteSaver`` on a temporary file, in conversations of
``--length`` turns, ours and the peer alternating conversation by conversation so that both
see the same machine noise.

Usage: ``python benchmarks/turn_overhead.py [--turns 200] [--length 10] [--long] [--breakdown]``.
``--long`` adds one conversation of ``--turns`` turns (history grows: checkpoints get heavier);
``--breakdown`` re-runs the in-memory case with every stage of a turn timed (wall clock, in
whichever thread the stage runs: our nodes run on the event loop, but the peer's tool node runs
its sync tool in LangGraph's thread pool, which cProfile does not see).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import inspect
import itertools
import json
import statistics
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agents import CallTool, ReplyStep, ResolutionAgent
from agents.testing import ScriptedPlanner
from tools import ToolContext
from tools.retail import Order, User, open_retail_backend, retail_registry, seed_demo

PEER = "langgraph.prebuilt.create_react_agent"
MESSAGE = "Hi, what is the status of my order?"
FINAL = "Your order is on its way."


# -- fixture ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fixture:
    db: str
    email: str
    order_id: str


def _seed(folder: Path) -> _Fixture:
    """A seeded retail database and one customer's email and order."""
    location = str(folder / "retail.db")
    backend = open_retail_backend(location)
    seed_demo(backend, customers=200, orders=400)

    def pick(session: Any) -> tuple[str, str]:
        row = session.execute(
            select(User.email, Order.id).join(Order, Order.user_id == User.id).limit(1)
        ).one()
        return str(row[0]), str(row[1])

    email, order_id = backend.read(pick)
    backend.dispose()
    return _Fixture(location, email, order_id)


# -- ours ------------------------------------------------------------------------------------
class _Ours:
    """Our agent with the scripted planner: one authenticating turn, then the lookups."""

    def __init__(self, agent: ResolutionAgent, planner: ScriptedPlanner, fixture: _Fixture):
        self.agent, self.planner, self.fixture = agent, planner, fixture
        self.lookup = CallTool(name="get_order_details", args={"order_id": fixture.order_id})

    @classmethod
    async def open(cls, kind: str, folder: Path, fixture: _Fixture) -> _Ours:
        planner = ScriptedPlanner([])
        checkpoints = "memory" if kind == "memory" else str(folder / f"ours-{kind}.sqlite")
        agent = await ResolutionAgent.open(
            retail_db=fixture.db,
            store=folder / f"store-{kind}.db",
            checkpoints=checkpoints,
            planner=planner,
        )
        return cls(agent, planner, fixture)

    async def begin(self, conversation: str) -> None:
        email = self.fixture.email
        self.planner.add(
            CallTool(name="find_user_id_by_email", args={"email": email}), ReplyStep(text=FINAL)
        )
        reply = await self.agent.send(conversation, f"Hi, I'm {email}.")
        assert reply.actions and reply.actions[0]["ok"], reply

    async def turn(self, conversation: str) -> float:
        self.planner.add(self.lookup, ReplyStep(text=FINAL))
        begin = time.perf_counter()
        reply = await self.agent.send(conversation, MESSAGE)
        elapsed = time.perf_counter() - begin
        assert reply.actions and reply.actions[0]["ok"], reply
        assert reply.status == "awaiting_customer" and reply.text == FINAL, reply
        return elapsed

    async def close(self) -> None:
        self.planner.assert_done()
        await self.agent.aclose()


# -- peer ------------------------------------------------------------------------------------
class _ToolCallingFake(GenericFakeChatModel):
    """GenericFakeChatModel that accepts ``bind_tools`` (the ReAct agent binds its tools)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _peer_messages(fixture: _Fixture) -> Iterator[AIMessage]:
    """The same model behaviour as our script: authenticate once, then look up each turn."""
    calls = itertools.count()
    yield AIMessage(
        content="",
        tool_calls=[
            {"name": "find_user_id_by_email", "args": {"email": fixture.email}, "id": "c-0"}
        ],
    )
    yield AIMessage(content=FINAL)
    args = {"order_id": fixture.order_id}
    while True:
        # Fresh messages each time: the messages reducer gives id-less messages an id in place.
        call = {"name": "get_order_details", "args": args, "id": f"c-{next(calls)}"}
        yield AIMessage(content="", tool_calls=[call])
        yield AIMessage(content=FINAL)


class _Peer:
    """The prebuilt ReAct agent with the fake model and our tools as LangChain tools."""

    def __init__(
        self, graph: Any, model: _ToolCallingFake, stack: AsyncExitStack, fixture: _Fixture
    ):
        self.graph, self.model, self.stack, self.fixture = graph, model, stack, fixture

    @classmethod
    async def open(cls, kind: str, folder: Path, fixture: _Fixture) -> _Peer:
        from langgraph.prebuilt import create_react_agent

        stack = AsyncExitStack()
        backend = open_retail_backend(fixture.db, create=False)
        stack.callback(backend.dispose)
        registry = retail_registry()
        ctx = ToolContext(backend=backend)

        def wrap(name: str, schema: Any, description: str) -> StructuredTool:
            def call(**kwargs: Any) -> str:
                return registry.invoke(name, kwargs, ctx).content()

            return StructuredTool.from_function(
                func=call, name=name, description=description, args_schema=schema
            )

        tools = [wrap(t.name, t.input_model, t.description) for t in registry]
        if kind == "memory":
            saver: Any = InMemorySaver()
        else:
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            path = str(folder / f"peer-{kind}.sqlite")
            saver = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(path))
            await saver.setup()
        model = _ToolCallingFake(messages=iter(()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in favour of langchain's create_agent
            graph = create_react_agent(model, tools, checkpointer=saver)
        return cls(graph, model, stack, fixture)

    @staticmethod
    def _config(conversation: str) -> Any:
        return {"configurable": {"thread_id": conversation}}

    async def begin(self, conversation: str) -> None:
        self.model.messages = _peer_messages(self.fixture)
        message = HumanMessage(f"Hi, I'm {self.fixture.email}.")
        await self.graph.ainvoke({"messages": [message]}, self._config(conversation))

    async def turn(self, conversation: str) -> float:
        payload = {"messages": [HumanMessage(MESSAGE)]}
        begin = time.perf_counter()
        result = await self.graph.ainvoke(payload, self._config(conversation))
        elapsed = time.perf_counter() - begin
        tool_message, final = result["messages"][-2:]
        assert isinstance(tool_message, ToolMessage), tool_message
        assert self.fixture.order_id in str(tool_message.content), tool_message
        assert final.content == FINAL, final
        return elapsed

    async def close(self) -> None:
        await self.stack.aclose()


# -- measure ---------------------------------------------------------------------------------
async def _measure(
    kind: str, folder: Path, fixture: _Fixture, conversations: int, length: int, warmup: int
) -> dict[str, list[float]]:
    """Alternate ours and the peer conversation by conversation, so both see the same noise."""
    runners: dict[str, Any] = {
        "ours": await _Ours.open(kind, folder, fixture),
        "peer": await _Peer.open(kind, folder, fixture),
    }
    timings: dict[str, list[float]] = {"ours": [], "peer": []}
    try:
        for runner in runners.values():
            await runner.begin(f"{kind}-warmup")
            for _ in range(warmup):
                await runner.turn(f"{kind}-warmup")
        for number in range(conversations):
            order = list(runners) if number % 2 == 0 else list(reversed(runners))
            for name in order:
                conversation = f"{kind}-{number}"
                await runners[name].begin(conversation)
                for _ in range(length):
                    timings[name].append(await runners[name].turn(conversation))
    finally:
        for runner in runners.values():
            await runner.close()
    return timings


def _summary(timings: list[float]) -> tuple[float, float]:
    return statistics.fmean(timings) * 1000, statistics.median(timings) * 1000


# -- breakdown -------------------------------------------------------------------------------
_SPENT: dict[str, float] = defaultdict(float)
_RECORDING = False


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a function (sync or async) to add its wall time to ``_SPENT`` during a turn."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                if _RECORDING:
                    _SPENT[label] += time.perf_counter() - begin

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if _RECORDING:
                _SPENT[label] += time.perf_counter() - begin

    return timed


def _instrument() -> None:
    """Time the stages of a turn (before any graph is built: nodes are read at build time).

    cProfile only sees the main thread, and LangGraph runs sync nodes (the peer's tool node)
    in a thread pool, so the breakdown is wall time per stage, measured where the stage runs.
    """
    from langgraph.pregel import Pregel

    import agents._graph as graph_module
    from agents._store import FrameworkStore
    from policies import FactLoader, PolicyEngine
    from tools import ToolRegistry

    for node in ("ingest", "plan", "guard", "act", "respond"):
        setattr(graph_module, node, _timed(f"node {node}", getattr(graph_module, node)))
    patches: list[tuple[Any, str, str]] = [
        (Pregel, "ainvoke", "graph.ainvoke (whole graph run)"),
        (Pregel, "aget_state", "graph.aget_state (send: is the conversation busy?)"),
        (FrameworkStore, "record_turn", "store.record_turn (transcript + audit, one commit)"),
        (FrameworkStore, "record_events", "store.record_events (after a write tool, commit)"),
        (FactLoader, "build", "guard: FactLoader.build (user + order, one read transaction)"),
        (PolicyEngine, "evaluate", "guard: PolicyEngine.evaluate (CEL rules)"),
        (graph_module, "decision_payload", "guard: audit payload of the decision (PII masked)"),
        (graph_module, "tool_payload", "act: audit payload of the tool call (PII masked)"),
        (ToolRegistry, "invoke", "ToolRegistry.invoke (all tool runs)"),
    ]
    for owner, attribute, label in patches:
        setattr(owner, attribute, _timed(label, getattr(owner, attribute)))


async def _recorded_turns(
    kind: str, folder: Path, fixture: _Fixture, conversations: int, length: int
) -> dict[str, dict[str, float]]:
    global _RECORDING
    runners: dict[str, Any] = {
        "ours": await _Ours.open(kind, folder, fixture),
        "peer": await _Peer.open(kind, folder, fixture),
    }
    spent: dict[str, dict[str, float]] = {}
    try:
        for name, runner in runners.items():
            _SPENT.clear()
            total = 0.0
            for number in range(conversations):
                await runner.begin(f"breakdown-{number}")
                for _ in range(length):
                    _RECORDING = True
                    total += await runner.turn(f"breakdown-{number}")
                    _RECORDING = False
            turns = conversations * length
            spent[name] = {label: value * 1000 / turns for label, value in _SPENT.items()}
            spent[name]["turn (as measured)"] = total * 1000 / turns
    finally:
        _RECORDING = False
        for runner in runners.values():
            await runner.close()
    return spent


def _breakdown(folder: Path, fixture: _Fixture, conversations: int, length: int) -> str:
    spent = asyncio.run(_recorded_turns("memory", folder, fixture, conversations, length))
    lines = ["breakdown, memory checkpointer (wall ms per turn; share of our turn):"]
    ours_turn = spent["ours"]["turn (as measured)"]
    for name in ("ours", "peer"):
        figures = spent[name]
        nodes = sum(v for k, v in figures.items() if k.startswith("node "))
        tools = figures.get("ToolRegistry.invoke (all tool runs)", 0.0)
        graph = figures.get("graph.ainvoke (whole graph run)", 0.0)
        inside = nodes if name == "ours" else tools
        if name == "ours":
            figures["LangGraph machinery: graph run minus node bodies"] = graph - inside
        else:
            figures["LangGraph machinery + fake model: graph run minus tool"] = graph - inside
        figures["outside the graph run: turn minus graph.ainvoke"] = (
            figures["turn (as measured)"] - graph
        )
        lines.append(f"  {name}:")
        for label, value in sorted(figures.items(), key=lambda item: -item[1]):
            share = value / ours_turn
            lines.append(f"    {value:8.2f} ms {share:6.1%}  {label}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200, help="measured turns per run")
    parser.add_argument("--length", type=int, default=10, help="measured turns per conversation")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured turns first")
    parser.add_argument("--long", action="store_true", help="also one conversation of --turns")
    parser.add_argument(
        "--breakdown", action="store_true", help="time the stages of a turn (memory checkpointer)"
    )
    options = parser.parse_args()
    conversations = max(1, options.turns // options.length)
    turns = conversations * options.length

    shapes = {"": (conversations, options.length)}
    if options.long:
        shapes["long_"] = (1, options.turns)
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fixture = _seed(root)
        for shape, (count, length) in shapes.items():
            for kind in ("memory", "sqlite"):
                folder = root / f"{shape}{kind}"
                folder.mkdir()
                gc.collect()
                timings = asyncio.run(
                    _measure(kind, folder, fixture, count, length, options.warmup)
                )
                for who, values in timings.items():
                    results[f"{shape}{who}_{kind}"] = _summary(values)
        breakdown = ""
        if options.breakdown:
            (root / "breakdown").mkdir()
            _instrument()
            breakdown = _breakdown(root / "breakdown", fixture, conversations, options.length)

    print(
        f"{turns} measured turns in {conversations} conversations of {options.length} turns "
        f"(+ an authenticating turn each), ours and peer alternating; a turn = customer "
        "message -> get_order_details -> final reply, zero model latency"
    )
    figures: dict[str, Any] = {"benchmark": "turn_overhead", "peer": PEER, "turns": turns}
    for shape in shapes:
        label = "long conversation" if shape else "conversations"
        for kind in ("memory", "sqlite"):
            ours_mean, ours_p50 = results[f"{shape}ours_{kind}"]
            peer_mean, peer_p50 = results[f"{shape}peer_{kind}"]
            print(
                f"{label}, {kind} checkpointer: ours mean {ours_mean:.2f} ms p50 "
                f"{ours_p50:.2f} ms | peer mean {peer_mean:.2f} ms p50 {peer_p50:.2f} ms | "
                f"ratio ours/peer {ours_mean / peer_mean:.2f}x (p50 {ours_p50 / peer_p50:.2f}x)"
            )
            figures |= {
                f"{shape}ours_{kind}_ms": round(ours_mean, 3),
                f"{shape}ours_{kind}_p50_ms": round(ours_p50, 3),
                f"{shape}peer_{kind}_ms": round(peer_mean, 3),
                f"{shape}peer_{kind}_p50_ms": round(peer_p50, 3),
                f"{shape}ratio_{kind}": round(ours_mean / peer_mean, 2),
            }
    if breakdown:
        print(breakdown)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
