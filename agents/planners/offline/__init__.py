"""The offline planner: no model server, deterministic, resolves standard retail requests.

Intent classification by nearest neighbours over labelled utterances (the local MiniLM
sentence model the knowledge base uses), entity extraction, and one playbook per intent::

    from agents.planners.offline import OfflinePlanner

    agent = ResolutionAgent(backend=..., planner=OfflinePlanner(), store=...)
"""

from agents.planners.offline._planner import OfflinePlanner

__all__ = ["OfflinePlanner"]
