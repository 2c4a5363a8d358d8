"""Knowledge articles: the policy passages a planner retrieves, and the retail set shipped."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = ["Article", "load_articles", "retail_articles"]

_RETAIL = "retail_articles.yaml"


class Article(BaseModel):
    """A short policy article or FAQ passage.

    Attributes:
        id: Stable identifier (kebab-case); re-indexing replaces the article with this id.
        title: One line, phrased as a customer would look for it.
        text: The passage itself, a few sentences.
        tags: Topic labels, for filtering and reporting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    tags: tuple[str, ...] = ()

    @property
    def content(self) -> str:
        """What is embedded: the title, then the text."""
        return f"{self.title}\n\n{self.text}"

    @property
    def content_hash(self) -> str:
        """Changes exactly when :attr:`content` changes."""
        return hashlib.sha256(self.content.encode()).hexdigest()


_ARTICLES = TypeAdapter(list[Article])


def load_articles(source: str | Path) -> list[Article]:
    """Read and validate a YAML list of articles.

    Args:
        source: A YAML file holding a list of ``{id, title, text, tags}`` mappings.

    Returns:
        The articles, in file order.

    Raises:
        ValueError: When an article is malformed or two share an id.
    """
    return _parse(Path(source).read_text(encoding="utf-8"), str(source))


@cache
def retail_articles() -> tuple[Article, ...]:
    """The retail domain's articles shipped with the package."""
    text = files("agents.knowledge").joinpath(_RETAIL).read_text(encoding="utf-8")
    return tuple(_parse(text, _RETAIL))


def _parse(text: str, origin: str) -> list[Article]:
    articles = _ARTICLES.validate_python(yaml.safe_load(text) or [])
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise ValueError(f"{origin}: two articles have the id {article.id!r}")
        seen.add(article.id)
    return articles
