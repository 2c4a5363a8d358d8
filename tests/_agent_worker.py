"""A process that runs one agent turn on SQLite files and may kill itself mid-turn.

Used by tests/test_agent_durability.py to crash a conversation between two nodes::

    python -m tests._agent_worker RETAIL STORE CHECKPOINTS CONVERSATION MESSAGE [--kill-after N]

With ``--kill-after N`` the turn is streamed with ``durability="sync"`` and the process
SIGKILLs itself at the first checkpoint event after the N-th node update: the checkpoint that
holds node N's writes is on disk and node N+1 has not started. Every node update, and the
``next`` nodes of the checkpoint it dies at, are printed (flushed) first, so the parent sees
where it died. Without ``--kill-after`` the message goes through ``ResolutionAgent.send`` and
the reply is printed as JSON.

The planner is :func:`tests._agent_support.cancel_planner`, a function of the state: it derives
the next step from the trace alone, so any process can pick up a conversation another started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from agents import ResolutionAgent, initial_state
from agents.testing import ScriptedPlanner
from tests._agent_support import cancel_planner


def _say(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def _turn_then_die(
    agent: ResolutionAgent, conversation: str, text: str, kill_after: int
) -> None:
    config = {"configurable": {"thread_id": conversation}, "recursion_limit": 200}
    payload: dict[str, Any] = {"inbox": text}
    if not (await agent.graph.aget_state(config)).values:  # type: ignore[arg-type]
        payload = {**initial_state(), "inbox": text}
    updates = 0
    async for mode, chunk in agent.graph.astream(
        payload,
        config,  # type: ignore[arg-type]
        context=agent.context,
        stream_mode=["updates", "checkpoints"],
        durability="sync",
    ):
        if mode == "updates":
            for node in chunk:
                updates += 1
                _say({"node": node, "update": updates})
        elif mode == "checkpoints" and updates >= kill_after:
            _say({"killed_after": updates, "next": list(chunk.get("next", []))})
            _die()


async def main(argv: list[str]) -> int:
    """Run the turn described by ``argv``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("retail")
    parser.add_argument("store")
    parser.add_argument("checkpoints")
    parser.add_argument("conversation")
    parser.add_argument("message")
    parser.add_argument("--kill-after", type=int, default=0)
    args = parser.parse_args(argv)
    agent = await ResolutionAgent.open(
        retail_db=args.retail,
        store=args.store,
        checkpoints=args.checkpoints,
        planner=ScriptedPlanner(cancel_planner),
    )
    try:
        if args.kill_after <= 0:
            reply = await agent.send(args.conversation, args.message)
            _say({"reply": reply.model_dump(mode="json")})
        else:
            await _turn_then_die(agent, args.conversation, args.message, args.kill_after)
    finally:
        await agent.aclose()
    _say({"finished": True})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
