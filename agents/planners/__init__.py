"""Planners: what proposes the agent's next step. All share :class:`agents.Planner`."""

from agents.planners._errors import PlannerError, PlannerRequestError, PlannerUnavailable
from agents.planners._handoff import HandoffPlanner
from agents.planners._openai import OpenAIPlanner
from agents.planners.offline import OfflinePlanner

__all__ = [
    "HandoffPlanner",
    "OfflinePlanner",
    "OpenAIPlanner",
    "PlannerError",
    "PlannerRequestError",
    "PlannerUnavailable",
]
