"""``search_knowledge``: the policy articles as a read tool, through the registry and the agent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents import CallTool, FrameworkStore, ReplyStep, ResolutionAgent
from agents.knowledge import KnowledgeBase
from agents.testing import ScriptedPlanner
from tools import ToolContext
from tools.retail import open_retail_backend, retail_registry, seed_demo


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    base = KnowledgeBase.open(tmp_path_factory.mktemp("kb"))
    base.ensure_indexed()
    return base


@pytest.fixture
def backend(tmp_path: Path):
    db = open_retail_backend(tmp_path / "retail.db")
    seed_demo(db, customers=20, orders=40)
    yield db
    db.dispose()


def test_search_knowledge_returns_the_right_passage(knowledge: KnowledgeBase, backend) -> None:
    result = retail_registry().invoke(
        "search_knowledge",
        {"query": "how long until the money is back on my card after a cancellation", "k": 3},
        ToolContext(backend=backend, knowledge=knowledge),
    )
    assert result.ok, result.error
    ids = [p["id"] for p in result.payload()["passages"]]
    assert "cancel-refund-timing" in ids
    assert len(ids) == 3


def test_without_a_knowledge_base_it_is_an_error_value(backend) -> None:
    result = retail_registry().invoke(
        "search_knowledge", {"query": "refund timing"}, ToolContext(backend=backend)
    )
    assert result.error is not None and result.error.code == "knowledge_unavailable"
    bad = retail_registry().invoke(
        "search_knowledge", {"query": "x", "k": 50}, ToolContext(backend=backend)
    )
    assert bad.error is not None and bad.error.code == "invalid_arguments"


def test_the_agent_passes_its_knowledge_to_the_tool(
    knowledge: KnowledgeBase, backend, tmp_path: Path
) -> None:
    planner = ScriptedPlanner(
        [
            CallTool(name="search_knowledge", args={"query": "can I return shoes I received"}),
            ReplyStep(text="Yes, delivered items can be returned."),
        ]
    )
    agent = ResolutionAgent(
        backend=backend, planner=planner, store=FrameworkStore(tmp_path / "s.db"),
        knowledge=knowledge,
    )  # fmt: skip

    async def run():
        reply = await agent.send("kb-1", "can I send back the shoes?")
        return reply

    reply = asyncio.run(run())
    assert reply.actions and reply.actions[0]["name"] == "search_knowledge"
    assert reply.actions[0]["ok"] is True
    assert reply.actions[0]["result"]["passages"]
    planner.assert_done()
