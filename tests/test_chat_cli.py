"""``resolve chat``: a customer typing, piped through stdin, against a seeded database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agents import FrameworkStore
from cli import app
from tools.retail import Order, PaymentTransaction, User, open_retail_backend, seed_demo

runner = CliRunner()


@dataclass
class Shop:
    db: str
    store: str
    folder: Path

    def args(self, *extra: str) -> list[str]:
        return ["chat", "--db", self.db, "--store", self.store, *extra]

    def order_status(self, order_id: str) -> str:
        backend = open_retail_backend(self.db, create=False)
        try:
            status: str = backend.read(lambda s: s.get(Order, order_id).status)
        finally:
            backend.dispose()
        return status

    def pending_order(self, *, above: float | None = None, below: float | None = None) -> tuple:
        """(email, order id) of a pending order whose payments are above/below an amount."""
        backend = open_retail_backend(self.db, create=False)

        def pick(session: Any) -> tuple[str, str]:
            rows = session.execute(
                select(User.email, Order.id)
                .join(Order, Order.user_id == User.id)
                .where(Order.status == "pending")
                .order_by(Order.id)
            ).all()
            for email, order_id in rows:
                paid = session.scalars(
                    select(PaymentTransaction.amount).where(PaymentTransaction.order_id == order_id)
                ).all()
                total = sum((Decimal(str(p)) for p in paid), Decimal(0))
                if (above is None or total > above) and (below is None or total < below):
                    return str(email), str(order_id)
            raise AssertionError("the seeded database has no such pending order")

        try:
            found: tuple[str, str] = backend.read(pick)
        finally:
            backend.dispose()
        return found

    def script(self, steps: list[dict[str, Any]]) -> str:
        path = self.folder / "script.json"
        path.write_text(json.dumps(steps))
        return str(path)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setenv("RESOLVE_DATA_DIR", str(tmp_path / "data"))
    db = str(tmp_path / "retail.db")
    backend = open_retail_backend(db)
    seed_demo(backend, customers=60, orders=200)
    backend.dispose()
    yield Shop(db=db, store=str(tmp_path / "store.db"), folder=tmp_path)


def _cancel_script(shop: Shop, email: str, order_id: str) -> str:
    return shop.script(
        [
            # Looking before authenticating: the policy says no, the planner goes on.
            {"kind": "call_tool", "name": "get_order_details", "args": {"order_id": order_id}},
            {"kind": "call_tool", "name": "find_user_id_by_email", "args": {"email": email}},
            {"kind": "call_tool", "name": "get_order_details", "args": {"order_id": order_id}},
            {
                "kind": "call_tool",
                "name": "cancel_pending_order",
                "args": {"order_id": order_id, "reason": "no longer needed"},
            },
            {"kind": "resolve", "summary": f"Order {order_id} is cancelled."},
        ]
    )


def test_the_handoff_planner_hands_the_conversation_to_a_person(shop: Shop) -> None:
    result = runner.invoke(
        app,
        shop.args("--planner", "handoff", "--checkpoints", "memory", "--conversation", "c-1"),
        input="Hi, where is my parcel?\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    assert "every conversation goes to a person" in result.output
    assert "handed off to a person (review item c-1:handoff:1)" in result.output
    store = FrameworkStore(shop.store)
    try:
        [item] = store.list_reviews("open")
        assert item.thread_id == "c-1" and item.action["name"] == "handoff"
        assert store.conversation_status("c-1") == "escalated"
    finally:
        store.dispose()


def test_the_offline_planner_cancels_after_the_customer_confirms(shop: Shop) -> None:
    email, order_id = shop.pending_order(below=900)
    result = runner.invoke(
        app,
        shop.args("--planner", "offline", "--checkpoints", "memory", "--conversation", "c-2"),
        input=f"please cancel order {order_id}, I don't need it anymore\n{email}\nyes\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "offline (local sentence model" in out
    assert "tool find_user_id_by_email ok" in out
    assert "Shall I go ahead?" in out
    assert "tool cancel_pending_order ok" in out
    store = FrameworkStore(shop.store)
    try:
        said = [m["text"] for m in store.transcript("c-2") if m["role"] == "agent"]
        assert any("cancelled" in text for text in said), said
    finally:
        store.dispose()


def test_scripted_lookup_then_the_customer_confirms_the_cancellation(shop: Shop) -> None:
    email, order_id = shop.pending_order(below=900)
    script = _cancel_script(shop, email, order_id)
    result = runner.invoke(
        app,
        shop.args("--planner", "scripted", "--script", script, "--checkpoints", "memory"),
        input=f"Hi, I'm {email}, please cancel {order_id}\nyes\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "policy deny get_order_details: authenticate-first" in out
    assert "tool find_user_id_by_email ok" in out
    assert "tool get_order_details ok" in out
    assert "policy confirm cancel_pending_order: confirm-writes" in out
    assert "Shall I go ahead?" in out
    assert "tool cancel_pending_order ok" in out
    assert "conversation resolved" in out
    # the confirmation comes before the write, in that order on screen
    assert out.index("policy confirm") < out.index("you> yes") < out.index("tool cancel_")
    assert shop.order_status(order_id) == "cancelled"


def test_anything_but_yes_declines_and_nothing_is_written(shop: Shop) -> None:
    email, order_id = shop.pending_order(below=900)
    steps = json.loads(Path(_cancel_script(shop, email, order_id)).read_text())[:4]
    steps.append({"kind": "reply", "text": "All right, I left the order as it is."})
    result = runner.invoke(
        app,
        shop.args("--planner", "scripted", "--script", shop.script(steps)),
        input=f"I'm {email}, cancel {order_id}\nno, keep it\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    assert "policy declined cancel_pending_order" in result.output
    assert "tool cancel_pending_order" not in result.output
    assert shop.order_status(order_id) == "pending"


def test_a_refund_above_the_threshold_waits_for_review_then_approve_runs_it(shop: Shop) -> None:
    email, order_id = shop.pending_order(above=1000)
    script = _cancel_script(shop, email, order_id)
    result = runner.invoke(
        app,
        shop.args("--planner", "scripted", "--script", script, "--conversation", "big"),
        input=f"I'm {email}, cancel {order_id}\nhello?\n/approve checked the account\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "policy approve cancel_pending_order" in out
    assert "waiting for review big:4" in out
    assert "agent.decide('big:4', 'approve'" in out
    assert "waiting for a reviewer" in out  # the message sent while the review is open
    assert "review big:4: approve - checked the account" in out
    assert shop.order_status(order_id) == "cancelled"


def test_reject_refuses_the_action(shop: Shop) -> None:
    email, order_id = shop.pending_order(above=1000)
    script = shop.script(json.loads(Path(_cancel_script(shop, email, order_id)).read_text())[1:4])
    result = runner.invoke(
        app,
        shop.args("--planner", "scripted", "--script", script),
        input=f"I'm {email}, cancel {order_id}\n/reject too large\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    assert "I'm sorry, I can't" in result.output and "conversation refused" in result.output
    assert shop.order_status(order_id) == "pending"


def test_meta_commands_state_new_and_quit(shop: Shop) -> None:
    result = runner.invoke(
        app,
        shop.args("--planner", "handoff", "--conversation", "first"),
        input="/state\nhello\n/state\n/approve nothing\n/new\n/state\n/dance\n/quit\nhi again\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("conversation: first") == 2
    assert "status: active" in out and "status: escalated" in out
    assert "nothing in this conversation waits for a review" in out
    new_id = out.split("new conversation ", 1)[1].split()[0]
    assert new_id.startswith("chat-") and f"conversation: {new_id}" in out
    assert "unknown command /dance" in out
    assert "you> hi again" not in out  # /quit ended the session


def test_end_of_input_ends_the_session_cleanly(shop: Shop) -> None:
    result = runner.invoke(app, shop.args("--planner", "handoff"), input="\n\n")
    assert result.exit_code == 0, result.output


def test_a_conversation_continues_from_its_checkpoints(shop: Shop) -> None:
    checkpoints = str(shop.folder / "checkpoints.db")
    args = shop.args("--planner", "handoff", "--checkpoints", checkpoints, "--conversation", "k")
    first = runner.invoke(app, args, input="hello\n/quit\n")
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, args, input="/state\n/quit\n")
    assert again.exit_code == 0, again.output
    assert "resuming k: escalated, 1 turns" in again.output
    assert "turns: 1" in again.output


@pytest.mark.parametrize(
    ("content", "extra", "expected"),
    [
        (None, [], "cannot read --script"),
        ("not json", [], "is not JSON"),
        ('[{"kind": "dance"}]', [], "must be a JSON list of steps"),
        ('{"kind": "reply", "text": "hi"}', [], "must be a JSON list of steps"),
        ('[{"kind": "call_tool"}]', [], "must be a JSON list of steps"),
        ("[]", ["--planner", "handoff"], "--script goes with --planner scripted"),
    ],
)
def test_a_bad_script_exits_2_with_a_message(
    shop: Shop, content: str | None, extra: list[str], expected: str
) -> None:
    path = shop.folder / "bad.json"
    if content is not None:
        path.write_text(content)
    planner = extra or ["--planner", "scripted"]
    result = runner.invoke(app, shop.args(*planner, "--script", str(path)), input="hi\n")
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_scripted_without_a_script_exits_2(shop: Shop) -> None:
    result = runner.invoke(app, shop.args("--planner", "scripted"), input="hi\n")
    assert result.exit_code == 2
    assert "needs --script FILE" in result.output


def test_a_script_that_runs_out_fails_the_turn_with_exit_1(shop: Shop) -> None:
    script = shop.script([{"kind": "reply", "text": "Hello!"}])
    result = runner.invoke(
        app, shop.args("--planner", "scripted", "--script", script), input="hi\nagain\n"
    )
    assert result.exit_code == 1, result.output
    assert "agent> Hello!" in result.output
    assert "the turn failed: ScriptExhausted" in result.output
