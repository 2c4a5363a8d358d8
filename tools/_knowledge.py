"""``search_knowledge``: the policy articles and FAQs, as a read tool the model can call.

The tool layer never imports the agent layer: the knowledge base reaches the tool through
``ToolContext.knowledge``, anything with ``search(query, k) -> [{"id", "title", "text",
"score"}]`` (``agents.knowledge.KnowledgeBase`` is one).
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tools._context import ToolContext
from tools._tool import tool
from tools.errors import ToolError

__all__ = ["KnowledgeSearch", "Passage", "Passages", "SearchKnowledgeInput", "search_knowledge"]


@runtime_checkable
class KnowledgeSearch(Protocol):
    """Retrieval over the domain's policy articles."""

    def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        """Return up to ``k`` passages, best first."""
        ...


class SearchKnowledgeInput(BaseModel):
    """Arguments of search_knowledge."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)
    ] = Field(description="The customer's question, in plain words.")
    k: int = Field(
        default=3, ge=1, le=5, strict=True, description="How many passages to return (1-5)."
    )


class Passage(BaseModel):
    """One policy passage."""

    id: str
    title: str
    text: str
    score: float


class Passages(BaseModel):
    """The passages that best answer a question."""

    passages: list[Passage]


@tool(effect="read")
def search_knowledge(args: SearchKnowledgeInput, ctx: ToolContext) -> Passages:
    """Search the store's policy articles and FAQs for the passages that answer a question.

    Use it for questions about rules, timings and what is possible (refund times, return
    windows, what can be changed on an order), not for a customer's own data.
    """
    if ctx.knowledge is None:
        raise ToolError("no knowledge base is configured", code="knowledge_unavailable")
    found = ctx.knowledge.search(args.query, k=args.k)
    return Passages(
        passages=[
            Passage(
                id=str(p.get("id", "")),
                title=str(p.get("title", "")),
                text=str(p.get("text", "")),
                score=float(p.get("score", 0.0)),
            )
            for p in found
        ]
    )
