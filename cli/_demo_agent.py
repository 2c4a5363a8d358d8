"""The demo's second half: a customer served by the agent with the offline planner.

No model server and no network: the offline planner understands the customer with the local
sentence model, the policy pack guards every call, and the customer's "yes" is what lets
the cancellation run. The conversation is stored in the framework store like any other.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.panel import Panel
from sqlalchemy import select

from agents import FrameworkStore, ResolutionAgent
from cli._common import console
from config import get_settings
from tools import SqlBackend, ToolConfigError
from tools.retail import Order, User

__all__ = ["run_agent_demo"]


def _pick(backend: SqlBackend) -> tuple[str, str, str]:
    """A customer's email and pending order: the last by id (the walk-through takes the first)."""

    def query(session: Any) -> tuple[str, str, str]:
        row = session.execute(
            select(User.email, Order.id, Order.status)
            .join(Order, Order.user_id == User.id)
            .where(Order.status == "pending")
            .order_by(Order.id.desc())
            .limit(1)
        ).first()
        if row is None:
            raise ToolConfigError("no pending order left: run `resolve demo --fresh`")
        return str(row[0]), str(row[1]), str(row[2])

    found: tuple[str, str, str] = backend.read(query)
    return found


async def _converse(agent: ResolutionAgent, conversation: str, lines: list[str]) -> None:
    for line in lines:
        console.print(f"[cyan]customer:[/] {escape(line)}")
        reply = await agent.send(conversation, line)
        for action in reply.actions:
            mark = "[green]ok[/]" if action["ok"] else "[red]error[/]"
            console.print(f"  [dim]tool[/] {action['name']} {mark}")
        for decision in reply.decisions:
            rules = ", ".join(decision["rules"])
            console.print(f"  [dim]policy[/] {decision['name']}: {decision['effect']} ({rules})")
        console.print(f"[green]agent:[/] {escape(reply.text)}  [dim]({reply.status})[/]")
        if reply.status in ("resolved", "refused", "escalated"):
            break


def run_agent_demo(backend: SqlBackend) -> None:
    """Serve one customer end to end with the offline planner and print the conversation."""
    from agents.planners.offline import OfflinePlanner

    settings = get_settings()
    email, order_id, _ = _pick(backend)
    planner = OfflinePlanner(cache_dir=Path(settings.data_dir) / "knowledge" / "models")
    store_path = Path(settings.store_location())
    if "://" not in str(store_path):
        store_path.parent.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        agent = ResolutionAgent(
            backend=backend,
            planner=planner,
            store=FrameworkStore(settings.store_location()),
        )
        try:
            conversation = f"demo-{order_id.lstrip('#')}"
            await _converse(
                agent,
                conversation,
                [
                    f"hi, could you cancel my order {order_id}? I don't need it anymore",
                    f"sure, it's {email}",
                    "yes please",
                    "no, that's all, thanks",
                ],
            )
        finally:
            agent.store.dispose()

    console.print(Panel("the agent, offline planner, no model server", title="conversation"))
    asyncio.run(main())
    console.print(f"[dim]transcript and audit trail stored in {settings.store_location()}[/]")
