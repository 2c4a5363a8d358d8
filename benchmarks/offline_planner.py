"""Decision time of the offline planner, next to a turn of the graph with a scripted planner.

Realistic conversations run on the demo shop through ``ResolutionAgent``: cancellations,
returns, exchanges, item and address changes, a reroute, status and refund questions, two
requests in one message, a hand-off and an out-of-scope question, each with a deterministic
customer answering the agent's questions from facts and confirming writes. Every
``OfflinePlanner.plan`` call is timed (the model is loaded before timing starts; a message's
first decision embeds its new clauses, later ones reuse them, as in production).

Peer, measured in the same run: the same conversations replayed with
:class:`agents.testing.ScriptedPlanner` returning the steps the offline planner chose, so
the two turn times differ only by the planner's work.

Usage: ``python benchmarks/offline_planner.py [--rounds 3]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents import FrameworkStore, PlannerInput, Reply, ResolutionAgent, Step
from agents.planners.offline import OfflinePlanner
from agents.testing import ScriptedPlanner
from tools.retail import export_taubench, open_retail_backend, seed_demo
from tools.retail._seed import DEMO_NOW

DONE = ("resolved", "refused", "escalated")
NEW_ADDRESS = "12 Oak St, Apt 4, Austin, TX 78701"


@dataclass
class Script:
    """One conversation: the opening and what the customer knows."""

    name: str
    opening: str
    facts: dict[str, str]


class TimedPlanner:
    """Times every decision of the wrapped planner and records the steps."""

    def __init__(self, inner: OfflinePlanner) -> None:
        self.inner = inner
        self.name = inner.name
        self.times_ms: list[float] = []
        self.steps: list[Step] = []

    async def plan(self, request: PlannerInput) -> Step:
        began = time.perf_counter_ns()
        step = await self.inner.plan(request)
        self.times_ms.append((time.perf_counter_ns() - began) / 1e6)
        self.steps.append(step)
        return step

    def fingerprint(self) -> dict[str, Any]:
        return self.inner.fingerprint()


def answer(reply: Reply, wants: list[str], facts: dict[str, str]) -> str:
    if reply.status == "awaiting_confirmation":
        return "Yes, please go ahead."
    said = []
    if "email" in wants and "email" in facts:
        said.append(f"My email is {facts['email']}.")
    elif "first_name" in wants and "zip" in facts:
        said.append(f"I'm {facts['first_name']} {facts['last_name']}, zip code {facts['zip']}.")
    said.extend(
        facts[k]
        for k in ("order_id", "item", "new_variant", "payment", "reason", "address")
        if k in wants and k in facts
    )
    if said:
        return " ".join(said)
    return "Sorry, I don't know." if wants else "No, that's all, thanks."


def scripts(data: Any, variants: int) -> list[Script]:
    """Conversations of every kind over the first fitting orders of the demo shop."""
    users, orders = data.users, data.orders

    def ident(user: dict[str, Any], by_name: bool) -> dict[str, str]:
        if by_name:
            return {
                "first_name": user["name"]["first_name"],
                "last_name": user["name"]["last_name"],
                "zip": user["address"]["zip"],
            }
        return {"email": user["email"]}

    def pick(
        status: str, count: int, test: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        found = [o for _, o in sorted(orders.items()) if o["status"] == status and test(o)]
        return found[:count]

    def simple(order: dict[str, Any]) -> bool:
        # One payment, under the amount that needs a reviewer's approval.
        return len(order["payment_history"]) == 1 and order["payment_history"][0]["amount"] < 900

    out: list[Script] = []
    for n, order in enumerate(pick("pending", variants, simple)):
        user = users[order["user_id"]]
        out.append(
            Script(
                f"cancel-{n}",
                f"hi, please cancel {order['order_id']}",
                {**ident(user, n % 2 == 1), "reason": "I ordered it by mistake"},
            )
        )
        out.append(
            Script(
                f"address-{n}",
                "I need to change the shipping address of my order",
                {**ident(user, n % 2 == 0), "order_id": order["order_id"], "address": NEW_ADDRESS},
            )
        )
        out.append(
            Script(
                f"multi-{n}",
                f"Cancel {order['order_id']}, no longer needed, and "
                f"also update my default address to {NEW_ADDRESS}",
                ident(user, False),
            )
        )
    for n, order in enumerate(pick("delivered", variants, simple)):
        user = users[order["user_id"]]
        item = order["items"][0]["name"].lower()
        out.append(
            Script(
                f"return-{n}",
                f"I'd like to return the {item} I received",
                {**ident(user, n % 2 == 1), "order_id": order["order_id"]},
            )
        )
        out.append(
            Script(
                f"exchange-{n}",
                f"can I exchange the {item} from {order['order_id']}?",
                {
                    **ident(user, False),
                    "new_variant": "the cheapest one",
                    "payment": "the card I paid with",
                },
            )
        )
    for n, order in enumerate(pick("processed", variants, lambda o: bool(o["fulfillments"]))):
        user = users[order["user_id"]]
        out.append(
            Script(
                f"status-{n}", f"where is my order {order['order_id']}?", ident(user, n % 2 == 0)
            )
        )
        out.append(
            Script(
                f"reroute-{n}",
                f"my parcel {order['order_id']} is on its way but please send it to {NEW_ADDRESS}",
                ident(user, False),
            )
        )
    for n, order in enumerate(pick("cancelled", variants, simple)):
        user = users[order["user_id"]]
        out.append(
            Script(
                f"refund-{n}",
                f"has the refund for {order['order_id']} gone through?",
                ident(user, False),
            )
        )
    out.append(Script("human", "I'd like to talk to a real person", {}))
    out.append(Script("out-of-scope", "can you recommend a good pizza place?", {}))
    return out


async def converse(agent: ResolutionAgent, script: Script, conversation: str) -> list[str]:
    """Run one conversation; returns the customer's messages (to replay them)."""
    messages = [script.opening]
    reply = await agent.send(conversation, script.opening)
    while reply.status not in DONE and len(messages) < 14:
        state = await agent.state(conversation)
        proposal = state.get("proposal") or {}
        wants = list(proposal.get("wants", [])) if proposal.get("kind") == "ask" else []
        messages.append(answer(reply, wants, script.facts))
        reply = await agent.send(conversation, messages[-1])
    return messages


@dataclass
class Figures:
    decisions_ms: list[float] = field(default_factory=list)
    first_round_ms: list[float] = field(default_factory=list)
    turns_offline_ms: list[float] = field(default_factory=list)
    turns_scripted_ms: list[float] = field(default_factory=list)


async def measure(work: Path, rounds: int, variants: int) -> tuple[Figures, int]:
    template = work / "demo.db"
    backend = open_retail_backend(template)
    seed_demo(backend)
    data = export_taubench(backend)
    backend.dispose()
    planner = OfflinePlanner(cache_dir=work / "models")
    planner.warm_up()
    figures = Figures()
    conversations = scripts(data, variants)
    for round_number in range(rounds):
        for index, script in enumerate(conversations):
            # Offline planner, each decision timed.
            timed = TimedPlanner(planner)
            db = work / f"offline-{round_number}-{index}.db"
            db.write_bytes(template.read_bytes())
            agent = ResolutionAgent(
                backend=open_retail_backend(db, create=False),
                planner=timed,
                store=FrameworkStore(work / f"s-{round_number}-{index}.db"),
                clock=lambda: DEMO_NOW,
            )
            began = time.perf_counter()
            messages = await converse(agent, script, f"c-{round_number}-{index}")
            per_turn = (time.perf_counter() - began) * 1000 / len(messages)
            await agent.aclose()
            figures.decisions_ms.extend(timed.times_ms)
            if round_number == 0:
                figures.first_round_ms.extend(timed.times_ms)
            figures.turns_offline_ms.append(per_turn)
            # The same conversation with a scripted planner replaying those steps.
            scripted = ScriptedPlanner(list(timed.steps))
            db = work / f"scripted-{round_number}-{index}.db"
            db.write_bytes(template.read_bytes())
            peer = ResolutionAgent(
                backend=open_retail_backend(db, create=False),
                planner=scripted,
                store=FrameworkStore(work / f"p-{round_number}-{index}.db"),
                clock=lambda: DEMO_NOW,
            )
            began = time.perf_counter()
            for message in messages:
                await peer.send(f"p-{round_number}-{index}", message)
            figures.turns_scripted_ms.append((time.perf_counter() - began) * 1000 / len(messages))
            await peer.aclose()
    return figures, len(conversations)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the conversations")
    parser.add_argument("--variants", type=int, default=3, help="orders per conversation kind")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures, conversations = asyncio.run(
            measure(Path(folder), options.rounds, options.variants)
        )
    decisions = figures.decisions_ms
    p50, p99 = percentile(decisions, 0.5), percentile(decisions, 0.99)
    offline_turn = statistics.median(figures.turns_offline_ms)
    scripted_turn = statistics.median(figures.turns_scripted_ms)
    print(f"{conversations} conversations x {options.rounds} rounds, {len(decisions)} decisions")
    print(
        f"offline planner decision: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"mean {statistics.fmean(decisions):.2f} ms"
    )
    cold50, cold99 = (
        percentile(figures.first_round_ms, 0.5),
        percentile(figures.first_round_ms, 0.99),
    )
    print(
        f"first round only (every message new to the process): p50 {cold50:.2f} ms, "
        f"p99 {cold99:.2f} ms"
    )
    print(
        f"turn (median per conversation): offline {offline_turn:.2f} ms, "
        f"scripted peer {scripted_turn:.2f} ms, ratio {offline_turn / scripted_turn:.2f}x"
    )
    print(
        json.dumps(
            {
                "benchmark": "offline_planner",
                "conversations": conversations,
                "rounds": options.rounds,
                "decisions": len(decisions),
                "decision_p50_ms": round(p50, 3),
                "decision_p99_ms": round(p99, 3),
                "decision_mean_ms": round(statistics.fmean(decisions), 3),
                "first_round_p50_ms": round(cold50, 3),
                "first_round_p99_ms": round(cold99, 3),
                "turn_offline_ms": round(offline_turn, 3),
                "peer": "agents.testing.ScriptedPlanner",
                "turn_scripted_ms": round(scripted_turn, 3),
                "turn_ratio_vs_peer": round(offline_turn / scripted_turn, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
