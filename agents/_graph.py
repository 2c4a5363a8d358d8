"""The resolution agent as a LangGraph state machine.

One turn runs until the agent has something to say: ``ingest`` the customer's message,
``plan`` one step, ``guard`` a proposed tool call with the policy engine, ``act`` on what is
allowed (exactly once: the idempotency key is the thread id and the step), ``respond`` with
output rails applied, or ``escalate`` to a person. Approvals pause the graph in ``review``
with ``interrupt()`` until a reviewer's decision resumes it with ``Command(resume=...)``.

Every node is safe to re-run from its start (LangGraph re-runs an interrupted node): review
items have deterministic ids, writes have deterministic idempotency keys, and the audit events
a node produces go into the state (``audit``, numbered by ``seq``): saved with the node's
writes, they reach the store exactly once, with the transcript at the end of the turn. A write
tool's call is recorded as soon as it ran, since its change is committed already.

Nodes are coroutines, so LangGraph runs them on the event loop instead of handing each to its
thread pool. The database work of ``guard``, ``act`` and ``escalate`` runs on the loop too when
both databases are SQLite files (a few statements, well under the cost of a thread hop), and
in a worker thread when one is a server, whose round trips must not hold up other
conversations (see :attr:`AgentContext.local_databases`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, interrupt
from pydantic import TypeAdapter

from agents._confirm import is_explicit_yes
from agents._context import AgentContext
from agents._describe import describe_action
from agents._planner import PlannerInput
from agents._state import AgentState, AuditEntry, Entry, PendingAction
from agents._steps import CallTool, Escalate, Step
from agents._store import decision_payload, tool_payload
from policies import (
    ConversationFacts,
    FactLoader,
    ProposedCall,
    VisibleCustomer,
    redact_reply,
    screen_input,
)
from tools import ToolContext

__all__ = ["AUDIT_RECORDED", "build_graph"]

AUDIT_RECORDED = "audit_recorded"
"""Configurable key: the ``seq`` of the last audit event the store is known to hold."""

_STEP = TypeAdapter(Step)
_FIND_USER = ("find_user_id_by_email", "find_user_id_by_name_zip")
_HANDOFF_TOOLS = ("transfer_to_human_agents",)


def _thread() -> str:
    config: RunnableConfig = get_config()
    return str(config.get("configurable", {}).get("thread_id", ""))


def _audited(
    state: AgentState,
    kind: Literal["decision", "tool"],
    tool: str,
    effect: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The state update that adds an audit event of this step, numbered after the last one."""
    seq = state.get("audited", 0) + 1
    entry = AuditEntry(seq=seq, step=state.get("step", 0), kind=kind, tool=tool, effect=effect,
                       payload=payload)  # fmt: skip
    return {"audit": [entry], "audited": seq}


async def _database_work(
    runtime: Runtime[AgentContext],
    work: Callable[[AgentState, AgentContext], dict[str, Any]],
    state: AgentState,
) -> dict[str, Any]:
    """Run a node's body, which talks to the databases: inline, or in a worker thread."""
    if runtime.context.local_databases:
        return work(state, runtime.context)
    # The thread runs in a copy of this context: get_config() still finds the run's config.
    return await asyncio.to_thread(work, state, runtime.context)


def _recent(state: AgentState, count: int = 6) -> list[Entry]:
    return [e for e in state.get("trace", []) if e.get("kind") in ("customer", "agent")][-count:]


class _InputState(AgentState, total=False):
    """The state plus the turn's raw customer message (``inbox``)."""

    inbox: str


# -- ingest ----------------------------------------------------------------------------------
async def ingest(state: _InputState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Input rails, then the customer's message joins the trace."""
    raw = str(state.get("inbox", ""))
    screened = screen_input(raw)
    turn = state.get("turn", 0) + 1
    update: dict[str, Any] = {
        "trace": [
            Entry(kind="customer", text=screened.text, step=state.get("step", 0),
                  flags=list(screened.flags))
        ],
        "turn": turn,
        "turn_steps": 0,
        "outbox": [],
        "flags": sorted({*state.get("flags", []), *screened.flags}),
        "status": "active",
    }  # fmt: skip
    # Audit events the store already holds leave the checkpoint.
    recorded = int(get_config().get("configurable", {}).get(AUDIT_RECORDED, 0))
    audit = state.get("audit", [])
    if audit and audit[0]["seq"] <= recorded:
        update["audit"] = Overwrite([e for e in audit if e["seq"] > recorded])
    pending = state.get("pending")
    if pending is not None and state.get("status") == "awaiting_confirmation":
        if is_explicit_yes(screened.text):
            update["confirmed"] = True
        else:
            update["pending"] = None
            update["confirmed"] = False
            update["trace"].append(
                Entry(
                    kind="decision",
                    name=pending["name"],
                    args=pending["args"],
                    call_id=pending["call_id"],
                    effect="declined",
                    rules=[],
                    messages=["the customer did not confirm this action"],
                )
            )
    return update


async def after_ingest(state: AgentState) -> Literal["guard", "plan"]:
    """A confirmed pending action goes straight back to the guard."""
    return "guard" if state.get("pending") and state.get("confirmed") else "plan"


# -- plan ------------------------------------------------------------------------------------
async def plan(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the planner for ONE next step."""
    ctx = runtime.context
    step_number = state.get("step", 0) + 1
    if state.get("turn_steps", 0) >= ctx.max_steps_per_turn:
        proposal: Step = Escalate(reason="the request needed more steps than allowed in a turn")
    else:
        request = PlannerInput(state, ctx.tool_schemas, ctx.knowledge, ctx.policy_text)
        proposal = await ctx.planner.plan(request)
    return {
        "proposal": proposal.model_dump(mode="json"),
        "step": step_number,
        "turn_steps": state.get("turn_steps", 0) + 1,
    }


async def after_plan(state: AgentState) -> Literal["guard", "respond", "escalate"]:
    """Route by the kind of step proposed."""
    kind = (state.get("proposal") or {}).get("kind")
    if kind == "call_tool":
        return "guard"
    if kind == "escalate":
        return "escalate"
    return "respond"


# -- guard -----------------------------------------------------------------------------------
def _candidate(state: AgentState) -> PendingAction:
    pending = state.get("pending")
    if pending is not None:
        return pending
    proposal = _STEP.validate_python(state.get("proposal"))
    assert isinstance(proposal, CallTool)
    return PendingAction(
        name=proposal.name,
        args=dict(proposal.args),
        call_id=proposal.call_id or f"call-{state.get('step', 0)}",
        effect="",
        rules=[],
        review_id=None,
    )


async def guard(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Decide on the proposed (or held-back) call with the policy engine."""
    return await _database_work(runtime, _guard, state)


def _guard(state: AgentState, ctx: AgentContext) -> dict[str, Any]:
    thread = _thread()
    candidate = _candidate(state)
    holding = state.get("pending") is not None
    call = ProposedCall(tool=candidate["name"], args=candidate["args"])
    conversation = ConversationFacts(
        id=thread,
        turn=state.get("turn", 0),
        confirmed=holding and bool(state.get("confirmed")),
        approved=holding and bool(state.get("approved")),
        actions_taken=list(state.get("actions_taken", [])),
        customers_seen=list(state.get("customers_seen", [])),
        flags=list(state.get("flags", [])),
    )
    tool_ctx = ToolContext(backend=ctx.backend, customer_id=state.get("customer_id"),
                           clock=ctx.clock)  # fmt: skip
    loader = FactLoader(ctx.registry, tool_ctx)
    context = loader.build(
        call,
        customer_id=state.get("customer_id"),
        conversation=conversation,
        params=ctx.engine.pack.pack.params,
        now=ctx.clock(),
    )
    # Recorded with the turn (see _audited), not by the engine's sink in a commit of its own.
    decision = ctx.engine.evaluate(call, context)
    held = PendingAction(
        name=candidate["name"],
        args=candidate["args"],
        call_id=candidate["call_id"],
        effect=decision.effect,
        rules=decision.rule_ids,
        review_id=candidate.get("review_id"),
    )
    if decision.effect == "allow" and not ctx.engine.is_write(call.tool):
        read = loader.result_of(call.tool, call.args)
        if read is not None:
            held["prefetched"] = {"ok": read.ok, "result": read.payload()}
    update: dict[str, Any] = {"pending": held}
    update |= _audited(
        state, "decision", call.tool, decision.effect, decision_payload(call.args, decision)
    )
    if decision.effect != "allow":
        update["trace"] = [
            Entry(
                kind="decision",
                name=call.tool,
                args=call.args,
                call_id=candidate["call_id"],
                effect=decision.effect,
                rules=decision.rule_ids,
                messages=decision.messages,
                step=state.get("step", 0),
            )
        ]
    if decision.effect == "deny":
        update.update(pending=None, confirmed=False, approved=False)
    elif decision.effect == "confirm":
        text = (
            f"To confirm: I will {describe_action(call.tool, call.args, context)}. "
            "Shall I go ahead? Please answer yes or no."
        )
        update.update(confirmed=False, outbox=[text], status="awaiting_confirmation")
    elif decision.effect == "approve":
        review_id = held["review_id"] or f"{thread}:{state.get('step', 0)}"
        held["review_id"] = review_id
        ctx.store.create_review(
            review_id=review_id,
            thread_id=thread,
            action={"name": call.tool, "args": call.args},
            decisions=[decision.summary()],
            excerpt=[dict(e) for e in _recent(state)],
            customer_id=state.get("customer_id"),
            note="; ".join(decision.messages),
        )
        update["status"] = "awaiting_review"
    elif decision.effect == "escalate":
        update["summary"] = "; ".join(decision.messages) or "the policy asks for a person"
    return update


async def after_guard(state: AgentState) -> Literal["act", "plan", "respond", "review", "escalate"]:
    """Allowed calls run; denials go back to the planner; the rest wait or hand off."""
    pending = state.get("pending")
    if pending is None:
        return "plan"
    effect = pending["effect"]
    if effect == "allow":
        return "act"
    if effect == "confirm":
        return "respond"
    if effect == "approve":
        return "review"
    return "escalate"


# -- review ----------------------------------------------------------------------------------
async def review(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Pause until a reviewer decides; then approve, edit or reject the held-back action."""
    pending = state.get("pending")
    assert pending is not None
    decided = interrupt({"review_id": pending["review_id"], "action": pending["name"]})
    verdict = str(decided.get("decision", "reject"))
    entry = Entry(
        kind="review",
        name=pending["name"],
        decision=verdict,
        reviewer=str(decided.get("reviewer", "")),
        reason=str(decided.get("reason", "")),
        step=state.get("step", 0),
    )
    if verdict == "approve":
        return {"trace": [entry], "approved": True, "confirmed": True, "status": "active"}
    if verdict == "edit" and isinstance(decided.get("args"), dict):
        edited = PendingAction(**{**pending, "args": dict(decided["args"])})
        return {"trace": [entry], "pending": edited, "approved": True, "confirmed": True,
                "status": "active"}  # fmt: skip
    reason = entry.get("reason") or "it did not pass review"
    text = f"I'm sorry, I can't {describe_action(pending['name'], pending['args'])}: {reason}."
    return {"trace": [entry], "pending": None, "approved": False, "confirmed": False,
            "outbox": [text], "status": "refused", "summary": reason}  # fmt: skip


async def after_review(state: AgentState) -> Literal["guard", "respond"]:
    """Approved or edited actions pass the guard again; rejections are said."""
    return "guard" if state.get("pending") is not None else "respond"


# -- act -------------------------------------------------------------------------------------
async def act(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the allowed call exactly once (idempotency key: thread id and step)."""
    return await _database_work(runtime, _act, state)


def _act(state: AgentState, ctx: AgentContext) -> dict[str, Any]:
    pending = state.get("pending")
    assert pending is not None
    thread = _thread()
    step = state.get("step", 0)
    name, args = pending["name"], pending["args"]
    tool = ctx.registry.get(name) if name in ctx.registry else None
    writes = tool is not None and tool.effect == "write"
    prefetched = pending.get("prefetched")
    replayed = False
    if prefetched is not None and not writes:
        # The guard read exactly this as a policy fact a moment ago: the same snapshot.
        ok, payload = bool(prefetched["ok"]), prefetched["result"]
    else:
        tool_ctx = ToolContext(
            backend=ctx.backend,
            customer_id=state.get("customer_id"),
            idempotency_key=f"{thread}:{step}" if writes else None,
            clock=ctx.clock,
            knowledge=ctx.knowledge,
        )
        result = ctx.registry.invoke(name, args, tool_ctx)
        ok, payload, replayed = result.ok, result.payload(), result.replayed
    update: dict[str, Any] = {
        "trace": [
            Entry(kind="tool", name=name, args=args, call_id=pending["call_id"], ok=ok,
                  result=payload, replayed=replayed, step=step)
        ],
        "pending": None,
        "confirmed": False,
        "approved": False,
    }  # fmt: skip
    recorded = tool_payload(args, payload)
    if writes:
        # The change is committed: so is its record, after the decisions that led to it.
        call = (step, name, ok, recorded)
        ctx.store.record_events(thread, state.get("audit", []), tool_call=call)
    else:
        update |= _audited(state, "tool", name, "ok" if ok else "error", recorded)
    if ok and name in _FIND_USER:
        found = str(payload["user_id"])
        update["customer_id"] = found
        update["customers_seen"] = sorted({*state.get("customers_seen", []), found})
    if ok and writes:
        update["actions_taken"] = [*state.get("actions_taken", []), name]
    if ok and name in _HANDOFF_TOOLS:
        update["summary"] = str(args.get("summary", "transferred to a person"))
    return update


async def after_act(state: AgentState) -> Literal["plan", "escalate"]:
    """A transfer to a person ends the agent's part; anything else goes back to planning."""
    last = state.get("trace", [])[-1] if state.get("trace") else {}
    if last.get("kind") == "tool" and last.get("ok") and last.get("name") in _HANDOFF_TOOLS:
        return "escalate"
    return "plan"


# -- respond ---------------------------------------------------------------------------------
def _rails(state: AgentState, texts: list[str]) -> list[str]:
    """The output rails on the agent's messages (card numbers, other customers' data)."""
    others = [c for c in state.get("customers_seen", []) if c != state.get("customer_id")]
    customer = _visible(state)
    return [redact_reply(t, customer=customer, known_user_ids=others).text for t in texts]


def _visible(state: AgentState) -> VisibleCustomer | None:
    customer = state.get("customer_id")
    if customer is None:
        return None
    email = None
    for entry in reversed(state.get("trace", [])):
        result = entry.get("result")
        if (
            entry.get("kind") == "tool"
            and entry.get("name") == "get_user_details"
            and entry.get("ok")
            and isinstance(result, dict)
            and entry.get("args", {}).get("user_id") == customer
        ):
            email = result.get("email")
            break
        if entry.get("kind") == "customer" and "@" in entry.get("text", ""):
            words = [w.strip(".,;:!?()<>") for w in entry.get("text", "").split()]
            email = next((w for w in words if "@" in w), email)
    return VisibleCustomer(user_id=customer, email=email, card_last_fours=())


async def respond(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Say the turn's message, with output rails applied, and set the status."""
    status = state.get("status", "active")
    texts = list(state.get("outbox", []))
    update: dict[str, Any] = {}
    if not texts:
        proposal = state.get("proposal") or {}
        kind = proposal.get("kind")
        if kind in ("ask", "reply"):
            texts = [str(proposal.get("text", ""))]
            status = "awaiting_customer"
        elif kind == "resolve":
            texts = [str(proposal.get("summary", ""))]
            status = proposal.get("outcome", "resolved")
            update["summary"] = texts[0]
    elif status not in ("awaiting_confirmation", "refused"):
        status = "awaiting_customer"
    safe = _rails(state, texts)
    update.update(
        outbox=safe,
        status=status,
        trace=[Entry(kind="agent", text=t, step=state.get("step", 0)) for t in safe],
    )
    return update


# -- escalate --------------------------------------------------------------------------------
async def escalate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Hand the conversation to a person: a review item with a summary, status escalated.

    An ``Escalate`` step's ``message`` is said first, then the handoff sentence.
    """
    return await _database_work(runtime, _escalate, state)


def _escalate(state: AgentState, ctx: AgentContext) -> dict[str, Any]:
    thread = _thread()
    proposal = state.get("proposal") or {}
    held = state.get("pending")
    reason = str(
        (state.get("summary") if held is not None else None)
        or proposal.get("reason")
        or state.get("summary")
        or "the customer needs a person"
    )
    ctx.store.create_review(
        review_id=f"{thread}:handoff:{state.get('step', 0)}",
        thread_id=thread,
        action={"name": "handoff", "args": {"reason": reason}},
        decisions=[],
        excerpt=[dict(e) for e in _recent(state, 10)],
        customer_id=state.get("customer_id"),
        note=reason,
    )
    texts = [
        "I've passed your conversation to a colleague, who will pick it up from here "
        "with everything you've told me."
    ]
    message = proposal.get("message") if proposal.get("kind") == "escalate" else None
    if message:
        texts.insert(0, str(message))
    safe = _rails(state, texts)
    return {
        "outbox": safe,
        "status": "escalated",
        "summary": reason,
        "pending": None,
        "trace": [Entry(kind="agent", text=t, step=state.get("step", 0)) for t in safe],
    }


def build_graph() -> StateGraph[AgentState, AgentContext, Any, Any]:
    """The uncompiled graph; compile it with a checkpointer."""
    graph: StateGraph[AgentState, AgentContext, Any, Any] = StateGraph(
        _InputState, context_schema=AgentContext
    )
    graph.add_node("ingest", ingest)
    graph.add_node("plan", plan)
    graph.add_node("guard", guard)
    graph.add_node("review", review)
    graph.add_node("act", act)
    graph.add_node("respond", respond)
    graph.add_node("escalate", escalate)
    graph.add_edge(START, "ingest")
    graph.add_conditional_edges("ingest", after_ingest)
    graph.add_conditional_edges("plan", after_plan)
    graph.add_conditional_edges("guard", after_guard)
    graph.add_conditional_edges("review", after_review)
    graph.add_conditional_edges("act", after_act)
    graph.add_edge("respond", END)
    graph.add_edge("escalate", END)
    return graph
