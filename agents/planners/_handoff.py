"""The placeholder default planner until the offline planner lands: it hands off at once."""

from __future__ import annotations

from typing import Any

from agents._planner import PlannerInput
from agents._steps import Escalate, Step

__all__ = ["HandoffPlanner"]


class HandoffPlanner:
    """Escalates every conversation to a person, saying so. Never guesses."""

    name = "handoff-placeholder"

    async def plan(self, request: PlannerInput) -> Step:
        """Always escalate."""
        return Escalate(
            reason="no planner that resolves requests is configured (handoff placeholder)"
        )

    def fingerprint(self) -> dict[str, Any]:
        """Name only: its behaviour has no parameters."""
        return {"planner": self.name}
