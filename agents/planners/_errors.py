"""Errors of the model planners: the model server could not give a step."""

from __future__ import annotations

from agents.errors import AgentError

__all__ = ["PlannerError", "PlannerRequestError", "PlannerUnavailable"]


class PlannerError(AgentError):
    """A model planner could not produce a step (a run failure, not the model's mistake).

    Attributes:
        status_code: The HTTP status of the last answer, when there was one.
        attempts: How many times the request was sent.
    """

    def __init__(self, message: str, *, status_code: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.attempts = attempts


class PlannerRequestError(PlannerError):
    """The model server rejected the request (a 4xx other than 429); retrying would not help."""


class PlannerUnavailable(PlannerError):
    """The model server stayed rate-limited, failing or unreachable after every retry."""
