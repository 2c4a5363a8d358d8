"""Durability of the agent graph: crashes between nodes, approvals across restarts, savers.

* Crash-resume: the turn that cancels (and refunds) an order runs in a worker process
  (tests/_agent_worker.py) on SQLite files and SIGKILLs itself after each node in turn; this
  process then resumes the conversation and checks that the refund happened exactly once and
  that no customer message was lost. Two narrower crash windows are made from the same files
  by removing what the dead process would not have saved yet.
* Approvals: a cancel above the approval threshold waits for a reviewer; the decision is made
  in another process than the one that paused, and acts at most once.
* Checkpointers: the same confirm flow on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig

from agents import AgentConfigError, ConversationBusy, ResolutionAgent
from agents.testing import ScriptedPlanner
from tests._agent_support import (
    BIG_ORDER,
    CANCEL,
    EMAIL,
    SMALL_ORDER,
    build_retail_template,
    cancel_planner,
    copy_folder,
    copy_sqlite,
    customer_texts,
    idempotency_records,
    order,
    refunds,
)

REPO = Path(__file__).resolve().parent.parent
CARD = "credit_card_9513926"
CONVERSATION = "crash-1"
ASK_CANCEL = f"Hi, please cancel order {SMALL_ORDER}, I no longer need it. My email is {EMAIL}"
ASK_BIG_CANCEL = f"Please cancel order {BIG_ORDER}, I no longer need it. My email is {EMAIL}"
FOLLOW_UP = "Thanks, that's all."
WRITE_TURN = ("ingest", "guard", "act", "plan", "respond")
"""The nodes of the turn that runs the cancel, once the customer says yes."""

Audit = list[tuple[int, str, str, str]]


def _config(conversation: str) -> RunnableConfig:
    return RunnableConfig(configurable={"thread_id": conversation})


def _audit(agent: ResolutionAgent, conversation: str) -> Audit:
    return [
        (e["step"], e["kind"], e["tool"], e["effect"])
        for e in agent.store.audit_events(conversation)
    ]


async def _open(folder: Path) -> ResolutionAgent:
    """An agent on the databases of ``folder`` (a new instance: as after a restart)."""
    return await ResolutionAgent.open(
        retail_db=folder / "retail.db",
        store=folder / "store.db",
        checkpoints=folder / "checkpoints.db",
        planner=ScriptedPlanner(cancel_planner),
    )


def _worker(folder: Path, conversation: str, message: str, kill_after: int = 0) -> list[dict]:
    """Run one turn in a worker process; return what it printed (one JSON object a line)."""
    command = [
        sys.executable,
        "-m",
        "tests._agent_worker",
        str(folder / "retail.db"),
        str(folder / "store.db"),
        str(folder / "checkpoints.db"),
        conversation,
        message,
        "--kill-after",
        str(kill_after),
    ]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    expected = -signal.SIGKILL if kill_after else 0
    assert done.returncode == expected, (done.returncode, done.stdout, done.stderr[-3000:])
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def retail_template(taubench_retail_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A retail database with the tau-bench retail data, copied for each test."""
    folder = tmp_path_factory.mktemp("durability-template")
    return build_retail_template(taubench_retail_dir, folder / "retail.db")


@pytest.fixture(scope="module")
def confirmation_asked(retail_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The databases after the first turn: the cancel waits for the customer's yes."""
    folder = tmp_path_factory.mktemp("confirmation-asked")
    copy_sqlite(retail_template, folder / "retail.db")

    async def first_turn() -> str:
        agent = await _open(folder)
        try:
            return (await agent.send(CONVERSATION, ASK_CANCEL)).status
        finally:
            await agent.aclose()

    assert asyncio.run(first_turn()) == "awaiting_confirmation"
    return folder


@dataclass
class Killed:
    """A worker that died after node ``after`` of the write turn, and its databases."""

    after: int
    folder: Path
    nodes: list[str]
    next: list[str]


@pytest.fixture(scope="module", params=range(1, len(WRITE_TURN) + 1), ids=lambda n: f"after-{n}")
def killed(
    request: pytest.FixtureRequest,
    confirmation_asked: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Killed:
    """The customer says yes; the process SIGKILLs itself after the N-th node of the turn."""
    after = int(request.param)
    folder = copy_folder(confirmation_asked, tmp_path_factory.mktemp(f"killed-{after}"))
    printed = _worker(folder, CONVERSATION, "yes", kill_after=after)
    nodes = [p["node"] for p in printed if "node" in p]
    (death,) = [p for p in printed if "killed_after" in p]
    return Killed(after=after, folder=folder, nodes=nodes, next=death["next"])


def _drop_latest_checkpoint(path: Path, *, and_its_parents_writes: bool) -> None:
    """Undo what the dead process saved last: its newest checkpoint (and the node's writes)."""
    newest = "SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?"
    with sqlite3.connect(path) as db:
        (latest,) = db.execute(newest, (CONVERSATION,)).fetchone()
        db.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (latest,))
        db.execute("DELETE FROM writes WHERE checkpoint_id = ?", (latest,))
        if and_its_parents_writes:
            (parent,) = db.execute(newest, (CONVERSATION,)).fetchone()
            db.execute("DELETE FROM writes WHERE checkpoint_id = ?", (parent,))
    db.close()


@dataclass
class Outcome:
    """A crashed conversation after this process resumed it."""

    next_before: tuple[str, ...]
    refunds_before: int
    resumed: bool
    status: str
    next_after: tuple[str, ...]
    follow_up_status: str
    customer_messages: list[str]
    cancels: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    order_status: str
    keys: list[tuple[str, str]]
    audit: Audit
    transcript: list[tuple[str, str]]
    store_status: str | None


def _resume(folder: Path) -> Outcome:
    """In this process (not the one that died): resume the conversation and look at it."""

    async def run() -> Outcome:
        agent = await _open(folder)
        try:
            backend = agent.context.backend
            before = await agent.graph.aget_state(_config(CONVERSATION))
            refunds_before = len(refunds(backend, SMALL_ORDER))
            reply = await agent.resume(CONVERSATION)
            after = await agent.graph.aget_state(_config(CONVERSATION))
            status = (await agent.state(CONVERSATION))["status"]
            # The conversation takes the customer's next message.
            follow_up = await agent.send(CONVERSATION, FOLLOW_UP)
            state = await agent.state(CONVERSATION)
            return Outcome(
                next_before=before.next,
                refunds_before=refunds_before,
                resumed=reply is not None,
                status=status,
                next_after=after.next,
                follow_up_status=follow_up.status,
                customer_messages=customer_texts(state),
                cancels=[
                    dict(e)
                    for e in state["trace"]
                    if e.get("kind") == "tool" and e.get("name") == CANCEL
                ],
                refunds=refunds(backend, SMALL_ORDER),
                order_status=order(backend, SMALL_ORDER)["status"],
                keys=idempotency_records(backend),
                audit=_audit(agent, CONVERSATION),
                transcript=[(m["role"], m["text"]) for m in agent.transcript(CONVERSATION)],
                store_status=agent.store.conversation_status(CONVERSATION),
            )
        finally:
            await agent.aclose()

    return asyncio.run(run())


def _assert_cancelled_once(outcome: Outcome) -> None:
    assert outcome.status == outcome.follow_up_status == "resolved"
    assert outcome.next_after == ()
    assert outcome.refunds == [
        {"transaction_type": "refund", "amount": 53.27, "payment_method_id": CARD}
    ]
    assert outcome.order_status == "cancelled"
    # One keyed write: the step that proposed the cancel (step 2 of the conversation).
    assert outcome.keys == [(f"{CONVERSATION}:2", CANCEL)]
    # Every customer message once, in order; the cancel once in the trace.
    assert outcome.customer_messages == [ASK_CANCEL, "yes", FOLLOW_UP]
    assert [(c["ok"], c["args"]["order_id"]) for c in outcome.cancels] == [(True, SMALL_ORDER)]


def test_the_worker_dies_on_the_node_boundary_it_was_told(killed: Killed, tmp_path: Path) -> None:
    assert killed.nodes == list(WRITE_TURN[: killed.after])
    assert killed.next == list(WRITE_TURN[killed.after : killed.after + 1])
    outcome = _resume(copy_folder(killed.folder, tmp_path))
    # The saved checkpoint is the one the worker died at.
    assert list(outcome.next_before) == killed.next
    # The cancel commits in act (the third node), before its checkpoint.
    assert outcome.refunds_before == (1 if killed.after >= WRITE_TURN.index("act") + 1 else 0)


def test_a_crash_after_any_node_resumes_to_one_refund(killed: Killed, tmp_path: Path) -> None:
    outcome = _resume(copy_folder(killed.folder, tmp_path))
    # Nothing left to run only when the worker died after the last node.
    assert outcome.resumed == (killed.after < len(WRITE_TURN))
    _assert_cancelled_once(outcome)
    assert outcome.cancels[0]["replayed"] is False
    # act ran once: one cancel decision allowed and one tool call in the audit trail.
    assert [a for a in outcome.audit if a[2] == CANCEL] == [
        (2, "decision", CANCEL, "confirm"),
        (2, "decision", CANCEL, "allow"),
        (2, "tool", CANCEL, "ok"),
    ]


def test_a_crash_before_the_node_saved_anything_reruns_it_once(
    killed: Killed, tmp_path: Path
) -> None:
    """The node ran (act: the refund is committed) but neither its writes nor the next
    checkpoint reached the saver: the node runs again, and the write is a replay."""
    folder = copy_folder(killed.folder, tmp_path)
    _drop_latest_checkpoint(folder / "checkpoints.db", and_its_parents_writes=True)
    outcome = _resume(folder)
    assert outcome.next_before == WRITE_TURN[killed.after - 1 : killed.after]
    assert outcome.resumed
    _assert_cancelled_once(outcome)
    act_reran = killed.after == WRITE_TURN.index("act") + 1
    assert outcome.cancels[0]["replayed"] is act_reran
    tool_calls = [a for a in outcome.audit if a[1] == "tool" and a[2] == CANCEL]
    assert tool_calls == [(2, "tool", CANCEL, "ok")] * (2 if act_reran else 1)


def test_a_crash_after_the_node_saved_its_writes_resumes_to_one_refund(
    killed: Killed, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The node's writes are saved, the checkpoint after it is not (async durability)."""
    folder = copy_folder(killed.folder, tmp_path)
    _drop_latest_checkpoint(folder / "checkpoints.db", and_its_parents_writes=False)
    outcome = _resume(folder)
    assert outcome.next_before == ()
    _assert_cancelled_once(outcome)


def test_a_crash_loses_no_message_from_the_transcript(killed: Killed, tmp_path: Path) -> None:
    outcome = _resume(copy_folder(killed.folder, tmp_path))
    customer = [text for role, text in outcome.transcript if role == "customer"]
    assert customer == [ASK_CANCEL, "yes", FOLLOW_UP]
    resolved = ("agent", f"Order {SMALL_ORDER} is cancelled and refunded.")
    assert outcome.transcript.count(resolved) == 2  # the yes turn's answer and the follow-up's
    assert outcome.store_status == "resolved"


# -- approvals across a restart ----------------------------------------------------------------
REVIEWED = "review-1"


@pytest.fixture(scope="module")
def review_waiting(retail_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A worker process asked to cancel the big order; it paused for a reviewer and exited."""
    folder = tmp_path_factory.mktemp("review-waiting")
    copy_sqlite(retail_template, folder / "retail.db")
    printed = _worker(folder, REVIEWED, ASK_BIG_CANCEL)
    (reply,) = [p["reply"] for p in printed if "reply" in p]
    assert (reply["status"], reply["review_id"]) == ("awaiting_review", f"{REVIEWED}:2")
    return folder


def _decide(folder: Path, *decisions: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Each decision by a new agent (a restart) in this process; then the end state."""

    async def run() -> tuple[list[Any], dict[str, Any]]:
        replies = []
        for decision in decisions:
            agent = await _open(folder)
            try:
                replies.append(await agent.decide(f"{REVIEWED}:2", **decision))
            finally:
                await agent.aclose()
        agent = await _open(folder)
        try:
            backend = agent.context.backend
            snapshot = await agent.graph.aget_state(_config(REVIEWED))
            state = await agent.state(REVIEWED)
            end = {
                "next": snapshot.next,
                "status": state["status"],
                "order": order(backend, BIG_ORDER),
                "refunds": refunds(backend, BIG_ORDER),
                "keys": idempotency_records(backend),
                "item": agent.store.get_review(f"{REVIEWED}:2"),
                "trace": state["trace"],
                "audit": _audit(agent, REVIEWED),
            }
        finally:
            await agent.aclose()
        return replies, end

    return asyncio.run(run())


def test_a_big_refund_waits_for_review_across_the_restart(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)

    async def look() -> tuple[Any, Any, str]:
        agent = await _open(folder)
        try:
            snapshot = await agent.graph.aget_state(_config(REVIEWED))
            item = agent.store.get_review(f"{REVIEWED}:2")
            return snapshot, item, order(agent.context.backend, BIG_ORDER)["status"]
        finally:
            await agent.aclose()

    snapshot, item, status = asyncio.run(look())
    assert snapshot.next == ("review",)
    assert [i.value["review_id"] for i in snapshot.interrupts] == [f"{REVIEWED}:2"]
    assert snapshot.values["status"] == "awaiting_review"
    assert item is not None and item.status == "open" and item.thread_id == REVIEWED
    assert item.action == {
        "name": CANCEL,
        "args": {"order_id": BIG_ORDER, "reason": "no longer needed"},
    }
    (decision,) = item.decisions
    assert (decision["effect"], decision["rules"][0]) == ("approve", "refund-approval")
    assert status == "pending"


def test_an_approval_after_restart_runs_the_action_once(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)
    replies, end = _decide(
        folder,
        {"decision": "approve", "reviewer": "ana", "reason": "checked"},
        {"decision": "approve", "reviewer": "ana", "reason": "clicked twice"},
        {"decision": "reject", "reviewer": "bob", "reason": "too late"},
    )
    assert [r.status for r in replies] == ["resolved"] * 3
    assert [a["name"] for a in replies[0].actions] == [CANCEL]
    assert replies[1].actions == replies[2].actions == []
    assert end["next"] == ()
    assert end["order"]["status"] == "cancelled"
    assert end["refunds"] == [
        {"transaction_type": "refund", "amount": 2772.44, "payment_method_id": CARD}
    ]
    assert end["keys"] == [(f"{REVIEWED}:2", CANCEL)]
    item = end["item"]
    assert (item.status, item.decision, item.reviewer, item.reason) == (
        "decided",
        "approve",
        "ana",
        "checked",
    )
    reviews = [e for e in end["trace"] if e.get("kind") == "review"]
    assert [(r["decision"], r["reviewer"]) for r in reviews] == [("approve", "ana")]
    assert [a for a in end["audit"] if a[1] == "tool" and a[2] == CANCEL] == [
        (2, "tool", CANCEL, "ok")
    ]


def test_a_rejection_after_restart_refuses_and_changes_nothing(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)
    replies, end = _decide(
        folder,
        {"decision": "reject", "reviewer": "bob", "reason": "the order is being packed"},
        {"decision": "approve", "reviewer": "ana", "reason": "too late"},
    )
    assert [r.status for r in replies] == ["refused", "refused"]
    assert "the order is being packed" in replies[0].text
    assert (end["status"], end["next"]) == ("refused", ())
    assert end["order"]["status"] == "pending"
    assert end["refunds"] == [] and end["keys"] == []
    assert end["item"].decision == "reject"
    assert [a for a in end["audit"] if a[1] == "tool" and a[2] == CANCEL] == []


def test_an_edit_to_a_reason_the_policy_denies_changes_nothing(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)
    edited = {"order_id": BIG_ORDER, "reason": "found it cheaper elsewhere"}
    replies, end = _decide(
        folder, {"decision": "edit", "reviewer": "ana", "reason": "fix", "args": edited}
    )
    assert replies[0].status == "refused"
    # The guard ran again on the edited arguments and denied them.
    assert [
        (d["args"], d["effect"], "cancel-reason" in d["rules"]) for d in replies[0].decisions
    ] == [(edited, "deny", True)]
    assert end["order"]["status"] == "pending"
    assert end["refunds"] == [] and end["keys"] == []
    assert end["item"].edited_args == edited


def test_an_edit_to_allowed_args_runs_the_edited_action(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)
    edited = {"order_id": BIG_ORDER, "reason": "ordered by mistake"}
    replies, end = _decide(
        folder, {"decision": "edit", "reviewer": "ana", "reason": "fix", "args": edited}
    )
    assert replies[0].status == "resolved"
    assert [a["args"] for a in replies[0].actions] == [edited]
    assert end["order"]["status"] == "cancelled"
    assert end["order"]["cancel_reason"] == "ordered by mistake"
    assert len(end["refunds"]) == 1 and end["keys"] == [(f"{REVIEWED}:2", CANCEL)]


def test_decide_rejects_unknown_items_and_edits_without_args(
    review_waiting: Path, tmp_path: Path
) -> None:
    folder = copy_folder(review_waiting, tmp_path)

    async def run() -> None:
        agent = await _open(folder)
        try:
            with pytest.raises(AgentConfigError):
                await agent.decide("no-such-item", "approve", reviewer="ana")
            with pytest.raises(AgentConfigError):
                await agent.decide(f"{REVIEWED}:2", "edit", reviewer="ana")
            assert agent.store.get_review(f"{REVIEWED}:2").status == "open"  # type: ignore[union-attr]
            assert (await agent.graph.aget_state(_config(REVIEWED))).next == ("review",)
        finally:
            await agent.aclose()

    asyncio.run(run())


# -- the same conversation on every checkpointer -----------------------------------------------
@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def saver_locations(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str | Path]]:
    """Where the checkpoints and the framework store live: ``(checkpoints, store)``."""
    if request.param == "memory":
        yield "memory", tmp_path / "store.db"
    elif request.param == "sqlite":
        yield tmp_path / "checkpoints.db", tmp_path / "store.db"
    else:
        server = request.getfixturevalue("postgres")
        checkpoints, store = server.create_database(), server.create_database()
        try:
            yield checkpoints, store
        finally:
            server.drop_database(checkpoints)
            server.drop_database(store)


def test_the_confirm_flow_on_every_checkpointer(
    saver_locations: tuple[str | Path, str | Path], retail_template: Path, tmp_path: Path
) -> None:
    checkpoints, store = saver_locations
    copy_sqlite(retail_template, tmp_path / "retail.db")
    conversation = "saver-1"
    config = _config(conversation)

    async def run() -> None:
        agent = await ResolutionAgent.open(
            retail_db=tmp_path / "retail.db",
            store=store,
            checkpoints=checkpoints,
            planner=ScriptedPlanner(cancel_planner),
        )
        backend = agent.context.backend
        try:
            reply = await agent.send(conversation, f"Hi, I want to cancel order {SMALL_ORDER}.")
            assert reply.status == "awaiting_customer"
            assert (await agent.graph.aget_state(config)).next == ()
            assert _audit(agent, conversation) == []

            reply = await agent.send(conversation, f"It's {EMAIL}, I no longer need it")
            assert reply.status == "awaiting_confirmation"
            assert (await agent.graph.aget_state(config)).next == ()
            assert _audit(agent, conversation) == [
                (2, "decision", "find_user_id_by_email", "allow"),
                (2, "tool", "find_user_id_by_email", "ok"),
                (3, "decision", CANCEL, "confirm"),
            ]
            events = agent.store.audit_events(conversation)
            assert "confirm-writes" in [r["id"] for r in events[-1]["payload"]["decision"]["rules"]]

            # The yes is taken, and the run stops before act: the saver holds the turn.
            await agent.graph.ainvoke(
                {"inbox": "yes"}, config, context=agent.context, interrupt_before=["act"]
            )
            snapshot = await agent.graph.aget_state(config)
            assert snapshot.next == ("act",)
            assert snapshot.values["pending"]["effect"] == "allow"
            assert order(backend, SMALL_ORDER)["status"] == "pending"
            with pytest.raises(ConversationBusy):
                await agent.send(conversation, "hello?")

            reply = await agent.resume(conversation)  # type: ignore[assignment]
            assert reply is not None and reply.status == "resolved"
            assert (await agent.graph.aget_state(config)).next == ()
            assert _audit(agent, conversation)[3:] == [
                (3, "decision", CANCEL, "allow"),
                (3, "tool", CANCEL, "ok"),
            ]
            assert order(backend, SMALL_ORDER)["status"] == "cancelled"
            assert len(refunds(backend, SMALL_ORDER)) == 1
            assert idempotency_records(backend) == [(f"{conversation}:3", CANCEL)]
            assert await agent.resume(conversation) is None
        finally:
            await agent.aclose()

    asyncio.run(run())
