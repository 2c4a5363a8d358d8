"""The knowledge base: policy articles in a persistent chromadb collection, searched locally."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings
from chromadb.errors import NotFoundError

from agents.knowledge._articles import Article, retail_articles
from agents.knowledge._embeddings import EmbeddingFunction, local_embedding_function

__all__ = ["KnowledgeBase"]

logger = logging.getLogger(__name__)

_SUBDIR = "knowledge"


class KnowledgeBase:
    """Policy articles and FAQs in a chromadb collection, with semantic search.

    Satisfies the planners' ``agents.Knowledge`` protocol. Build one with :meth:`open`.

    Args:
        client: The chromadb client holding the collection.
        collection: The collection, opened with ``embedding_function``.
        embedding_function: Embeds article contents and queries.
    """

    def __init__(
        self, client: ClientAPI, collection: Collection, embedding_function: EmbeddingFunction
    ) -> None:
        self._client = client
        self._collection = collection
        self.embedding_function = embedding_function

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        embedding_function: EmbeddingFunction | None = None,
        collection: str = "retail-policy",
    ) -> KnowledgeBase:
        """Open (or create) the collection stored under ``data_dir/knowledge/chroma``.

        Nothing here uses the network: telemetry is off and the default embedding function
        is local (see :func:`agents.knowledge.local_embedding_function`). A collection that
        was built with another embedding function is re-embedded from its stored text.

        Args:
            data_dir: The application's data directory.
            embedding_function: Defaults to the best local one, caching under the data dir.
            collection: The collection's name.

        Returns:
            The knowledge base; call :meth:`ensure_indexed` to load the shipped articles.
        """
        root = Path(data_dir) / _SUBDIR
        root.mkdir(parents=True, exist_ok=True)
        if embedding_function is None:
            embedding_function = local_embedding_function(root / "models")
        client = chromadb.PersistentClient(
            path=str(root / "chroma"), settings=Settings(anonymized_telemetry=False)
        )
        return cls(
            client, _open_collection(client, collection, embedding_function), embedding_function
        )

    @property
    def backend(self) -> str:
        """Which embedding backend serves this knowledge base (``onnx``, ``torch``...)."""
        return str(getattr(self.embedding_function, "backend", self.embedding_function.name()))

    def count(self) -> int:
        """How many articles are indexed."""
        return self._collection.count()

    def index(self, articles: Iterable[Article]) -> int:
        """Add or update articles by id; unchanged ones are not embedded again.

        Args:
            articles: The articles; a later one with the same id wins.

        Returns:
            How many articles were (re-)embedded.
        """
        latest = {article.id: article for article in articles}
        if not latest:
            return 0
        stored = self._collection.get(ids=list(latest), include=["metadatas"])
        hashes = {
            id_: (meta or {}).get("hash")
            for id_, meta in zip(stored["ids"], stored["metadatas"] or [], strict=False)
        }
        changed = [a for a in latest.values() if hashes.get(a.id) != a.content_hash]
        _upsert(
            self._collection, self.embedding_function, changed, self._client.get_max_batch_size()
        )
        return len(changed)

    def ensure_indexed(self) -> int:
        """Index the shipped retail articles if the collection is empty.

        Returns:
            How many articles were indexed (0 when the collection already had some).
        """
        if self.count():
            return 0
        return self.index(retail_articles())

    def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` passages closest in meaning to ``query``, best first.

        Args:
            query: A customer question or a topic, in plain words.
            k: How many passages at most.

        Returns:
            ``{"id", "title", "text", "score"}`` per passage; ``score`` is the cosine
            similarity clipped to 0..1 (higher is closer).
        """
        total = self.count()
        if k <= 0 or total == 0 or not query.strip():
            return []
        result = self._collection.query(
            query_texts=[query],
            n_results=min(k, total),
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            {
                "id": id_,
                "title": str((meta or {}).get("title", "")),
                "text": document or "",
                "score": max(0.0, min(1.0, 1.0 - float(distance))),
            }
            for id_, document, meta, distance in zip(
                ids, documents, metadatas, distances, strict=True
            )
        ]


def _open_collection(
    client: ClientAPI, name: str, embedding_function: EmbeddingFunction
) -> Collection:
    try:
        # Opened without an embedding function: only to read what it was built with.
        stored = client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return _create(client, name, embedding_function)
    persisted: Mapping[str, Any] = stored.configuration_json.get("embedding_function") or {}
    if persisted.get("name") in (None, embedding_function.name()):
        # chromadb types the parameter over Embeddable (text | images); ours embeds text only.
        return client.get_collection(name, embedding_function=embedding_function)  # type: ignore[arg-type]
    # Vectors from another model are not comparable with this one's: embed everything again.
    records = stored.get(include=["documents", "metadatas"])
    articles = [
        Article(
            id=id_,
            title=str((meta or {}).get("title", "")) or id_,
            text=document or "",
            tags=tuple(t for t in str((meta or {}).get("tags", "")).split(",") if t),
        )
        for id_, document, meta in zip(
            records["ids"], records["documents"] or [], records["metadatas"] or [], strict=False
        )
    ]
    logger.warning(
        "knowledge collection %r was embedded with %s; re-embedding %d articles with %s",
        name,
        persisted.get("name"),
        len(articles),
        embedding_function.name(),
    )
    client.delete_collection(name)
    collection = _create(client, name, embedding_function)
    _upsert(collection, embedding_function, articles, client.get_max_batch_size())
    return collection


def _create(client: ClientAPI, name: str, embedding_function: EmbeddingFunction) -> Collection:
    return client.create_collection(
        name,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=embedding_function,  # type: ignore[arg-type]
    )


def _upsert(
    collection: Collection,
    embedding_function: EmbeddingFunction,
    articles: list[Article],
    batch_size: int,
) -> None:
    for start in range(0, len(articles), batch_size):
        batch = articles[start : start + batch_size]
        collection.upsert(
            ids=[a.id for a in batch],
            embeddings=embedding_function([a.content for a in batch]),
            documents=[a.text for a in batch],
            metadatas=[
                {"title": a.title, "tags": ",".join(a.tags), "hash": a.content_hash} for a in batch
            ],
        )
