"""tau-bench retail end to end through the full graph: guard, confirmation, act.

For every test task, a planner scripted with the task's ground-truth actions (and a scripted
customer who authenticates and says yes to each confirmation) drives the agent; the final
database must equal the plain replay's. Refunds above the approval threshold pause for a
reviewer, who approves.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents import CallTool, FrameworkStore, ResolutionAgent, Resolve
from agents.testing import ScriptedPlanner
from evals.taubench import TaubenchReplayer, TaubenchTask, load_tasks
from tools._provision import DatabaseCopies
from tools.retail import (
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    state_hash,
)
from tools.retail._schema import retail_metadata

LOOKUPS = ("find_user_id_by_email", "find_user_id_by_name_zip")


def _script(task: TaubenchTask, email: str) -> list:
    steps: list = []
    if not any(a.name in LOOKUPS for a in task.actions):
        # The ground truth assumes an authenticated customer; the customer gives their email.
        steps.append(CallTool(name="find_user_id_by_email", args={"email": email}))
    steps += [
        CallTool(name=a.name, args=a.kwargs, call_id=f"gt-{i}") for i, a in enumerate(task.actions)
    ]
    if not task.actions or task.actions[-1].name != "transfer_to_human_agents":
        steps.append(Resolve(summary="Everything you asked for is done."))
    return steps


async def _drive(agent: ResolutionAgent, conversation: str) -> tuple[str, int, int]:
    reply = await agent.send(conversation, "Hi, I need help with my orders.")
    confirmations = approvals = 0
    for _ in range(60):
        if reply.status in ("resolved", "refused", "escalated"):
            break
        if reply.status == "awaiting_review":
            approvals += 1
            assert reply.review_id is not None
            reply = await agent.decide(reply.review_id, "approve", reviewer="qa", reason="ok")
        else:
            assert reply.status == "awaiting_confirmation", reply
            confirmations += 1
            reply = await agent.send(conversation, "yes")
    return reply.status, confirmations, approvals


def test_every_test_task_reaches_the_replay_state_through_the_graph(
    taubench_retail_dir: Path, tmp_path: Path
) -> None:
    data = read_taubench_dir(taubench_retail_dir)
    tasks = load_tasks(taubench_retail_dir / "tasks_test.json")
    copies = DatabaseCopies(tmp_path / "dbs", retail_metadata)
    copies.prepare(lambda backend: load_taubench(backend, data))
    matched = confirmations = approvals = 0
    with TaubenchReplayer(taubench_retail_dir) as replayer:
        for index, task in enumerate(tasks):
            replayed = replayer.replay_task(index, task)
            expected = replayed.state_hash
            failing = {f"gt-{e.step}" for e in replayed.errors}
            url = copies.copy()
            planner = ScriptedPlanner(_script(task, data.users[task.user_id]["email"]))
            agent = ResolutionAgent(
                backend=open_retail_backend(url, create=False),
                planner=planner,
                store=FrameworkStore(tmp_path / f"store-{index}.db"),
            )

            async def run(agent: ResolutionAgent = agent, index: int = index) -> tuple:
                try:
                    outcome = await _drive(agent, f"tau-test-{index}")
                    final = state_hash(export_taubench(agent.context.backend))
                    state = await agent.state(f"tau-test-{index}")
                finally:
                    await agent.aclose()
                return outcome, final, state

            (status, confirmed, approved), final, state = asyncio.run(run())
            denied = [
                e
                for e in state["trace"]
                if e.get("kind") == "decision"
                and e.get("effect") == "deny"
                and e.get("call_id") not in failing
            ]
            # Actions that fail in the benchmark by design may be stopped by the policy first.
            assert not denied, f"task {index}: the policy denied a ground-truth action: {denied}"
            assert final == expected, f"task {index}: final state differs from the plain replay"
            planner.assert_done()
            assert status in ("resolved", "escalated")
            matched += 1
            confirmations += confirmed
            approvals += approved
            copies.discard(url)
    print(
        f"\n{matched}/{len(tasks)} tau test tasks reached the replay's final state through the "
        f"graph ({confirmations} confirmations, {approvals} reviewer approvals)"
    )
    assert matched == len(tasks) == 115
