"""Run-scoped dependencies of the graph, passed as LangGraph's runtime context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents._planner import Knowledge, Planner
from agents._store import FrameworkStore
from policies import PolicyEngine
from tools import SqlBackend, ToolRegistry

__all__ = ["AgentContext"]


@dataclass
class AgentContext:
    """What every node may use; never stored in the checkpoint.

    Attributes:
        registry: The domain's tools.
        backend: The business system the tools act on.
        engine: The policy engine (with the store as its audit sink).
        planner: Proposes the next step.
        store: The framework's records (transcripts, audit, reviews).
        knowledge: Policy passages for model planners.
        clock: Source of "now".
        max_steps_per_turn: Planner steps in one turn before the agent hands off.
        policy_text: A short statement of the rules for model planners.
    """

    registry: ToolRegistry
    backend: SqlBackend
    engine: PolicyEngine
    planner: Planner
    store: FrameworkStore
    knowledge: Knowledge | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    max_steps_per_turn: int = 20
    policy_text: str = ""
    tool_schemas: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tool_schemas:
            self.tool_schemas = self.registry.openai_schemas()

    @property
    def local_databases(self) -> bool:
        """True when the business system and the store are SQLite files.

        Nodes then do their database work on the event loop: a few local statements cost
        less than handing them to a thread. A database server's round trips go to a worker
        thread instead, so that one conversation's wait does not hold up the others.
        """
        return self.backend.dialect == "sqlite" and self.store.dialect == "sqlite"
