"""Errors of the agent layer."""

from __future__ import annotations

__all__ = ["AgentConfigError", "AgentError", "ConversationBusy"]


class AgentError(Exception):
    """Root of every error raised by the ``agents`` package."""


class AgentConfigError(AgentError):
    """The agent was built or called wrongly; the message says how to fix it."""


class ConversationBusy(AgentError):
    """The conversation cannot take a message now (waiting for review, or cut off)."""
