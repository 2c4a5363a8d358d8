"""Typed tool adapters: the only way the agent acts on the business's systems.

A tool is a function with a pydantic input model, a pydantic output model, an effect tag and a
docstring; the :class:`ToolRegistry` derives its OpenAI schema and invokes it with validation,
retries on transient faults and idempotent writes.
"""

from tools._context import ToolContext, utc_now
from tools._knowledge import KnowledgeSearch, search_knowledge
from tools._money import Money, to_money
from tools._registry import ToolRegistry, ToolResult
from tools._retry import RetryPolicy
from tools._sql import SqlBackend, WriteOutcome, database_url
from tools._tool import Effect, Tool, tool
from tools.errors import (
    BackendFailure,
    ResolveToolsError,
    ToolConfigError,
    ToolError,
    TransientBackendError,
)

__all__ = [
    "BackendFailure",
    "Effect",
    "KnowledgeSearch",
    "Money",
    "ResolveToolsError",
    "RetryPolicy",
    "SqlBackend",
    "Tool",
    "ToolConfigError",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "TransientBackendError",
    "WriteOutcome",
    "database_url",
    "search_knowledge",
    "to_money",
    "tool",
    "utc_now",
]
