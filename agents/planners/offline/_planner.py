"""The offline planner: intents, entities and per-intent playbooks, with no model server.

Every decision is a pure function of the conversation's state: the requests are rebuilt from
the trace (:mod:`._tasks`), the first open one runs its playbook (:mod:`._playbooks`), and
requests that finish in the same decision have their closing messages joined to the next
question. The only model is the local MiniLM sentence embedding the knowledge base uses,
loaded once per process on first use.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from agents._planner import PlannerInput
from agents._state import AgentState
from agents._steps import Ask, CallTool, Reply, Resolve, Step
from agents.planners.offline._embedder import DEFAULT_CACHE_DIR, Embedder, shared_embedder
from agents.planners.offline._entities import is_dont_know, yes_no
from agents.planners.offline._flows import Context, Outcome, authenticate, escalate
from agents.planners.offline._intents import IntentClassifier, Prediction, examples_digest
from agents.planners.offline._playbooks import run_playbook
from agents.planners.offline._reading import Conversation
from agents.planners.offline._tasks import NEEDS_AUTH, build_tasks
from agents.planners.offline._texts import ANYTHING_ELSE, CLARIFY, money
from agents.planners.offline._third_party import REFUSALS, third_party_request

__all__ = ["OfflinePlanner"]

_CODE_MODULES = (
    "_planner.py",
    "_playbooks.py",
    "_common.py",
    "_refunds.py",
    "_changes.py",
    "_addresses.py",
    "_info.py",
    "_flows.py",
    "_tasks.py",
    "_intents.py",
    "_entities.py",
    "_matching.py",
    "_reading.py",
    "_texts.py",
    "_embedder.py",
)


def _code_version() -> str:
    package = resources.files("agents.planners.offline")
    digest = hashlib.sha256()
    for name in _CODE_MODULES:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:12]


class OfflinePlanner:
    """Resolves standard retail requests with no model server, deterministically.

    Args:
        cache_dir: Where the sentence model's ONNX graph and the examples' vectors are kept
            (the knowledge base's model folder by default).
        embedding_function: An already loaded embedding function to share (the knowledge
            base's); otherwise the process-wide MiniLM is loaded on first use.
    """

    name = "offline"

    def __init__(
        self,
        *,
        cache_dir: str | Path | None = None,
        embedding_function: object | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self._embedding_function = embedding_function
        self._classifier: IntentClassifier | None = None
        self._lock = threading.Lock()

    # -- model -------------------------------------------------------------------------------
    def _load(self, request: PlannerInput | None = None) -> IntentClassifier:
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    adopt = self._embedding_function
                    if adopt is None and request is not None and request.knowledge is not None:
                        adopt = getattr(request.knowledge, "embedding_function", None)
                        if getattr(adopt, "backend", None) not in ("onnx", "torch"):
                            adopt = None
                    embedder = shared_embedder(self.cache_dir, embedding_function=adopt)
                    self._classifier = IntentClassifier(embedder, cache_dir=self.cache_dir)
        return self._classifier

    @property
    def embedder(self) -> Embedder:
        """The sentence model (loaded on first use)."""
        return self._load().embedder

    def classify(self, text: str) -> Prediction:
        """The intent of one clause."""
        return self._load().classify(text)

    def warm_up(self) -> None:
        """Load the model and the examples' vectors now rather than on the first message."""
        self._load()

    # -- protocol ----------------------------------------------------------------------------
    async def plan(self, request: PlannerInput) -> Step:
        """The one next step for the conversation in ``request.state``."""
        self._load(request)
        return self.decide(request.state)

    def decide(self, state: AgentState) -> Step:
        """The next step, synchronously (the same as :meth:`plan`)."""
        classifier = self._load()
        conversation = Conversation(state)
        board = build_tasks(conversation, classifier.classify)
        ctx = Context(conversation, board, classifier.embedder)
        return _decide(ctx)

    def fingerprint(self) -> dict[str, Any]:
        """The planner's name, the labelled examples' hash and the code version."""
        return {
            "planner": self.name,
            "examples": examples_digest(),
            "code": _code_version(),
            "model": "all-MiniLM-L6-v2",
        }


def _decide(ctx: Context) -> Step:
    board = ctx.board
    conversation = ctx.conversation
    open_tasks = board.open()
    last = conversation.last_message
    # "Just get me a person" while a question is pending: the hand-off comes first.
    # (Requests asked in the same message as the hand-off are still handled in order.)
    urgent = [
        t
        for t in open_tasks
        if t.intent == "human"
        and last is not None
        and t.start == last.index
        and not any(o.start == t.start for o in open_tasks if o.intent != "human")
    ]
    if urgent:
        handoff = run_playbook(ctx, urgent[0])
        if not isinstance(handoff, Outcome):
            return handoff
    about = third_party_request(last.text) if last is not None else None
    if about is not None and not any(t.closed for t in board.tasks):
        return Resolve(summary=REFUSALS[about], outcome="refused")
    if last is not None and last.index in board.not_understood and len(board.not_understood) >= 2:
        return escalate(
            "the agent could not understand the customer's request twice",
            "I'm sorry, I couldn't follow what you need.",
        )
    closing: list[Outcome] = []
    for task in open_tasks:
        if task.intent in NEEDS_AUTH:
            step = authenticate(ctx)
            if step is not None:
                return _with(closing, step)
        result = run_playbook(ctx, task)
        if isinstance(result, Outcome):
            closing.append(result)
            continue
        return _with(closing, result)
    if closing:
        return _after_closing(ctx, closing)
    return _no_request(ctx)


def _with(closing: list[Outcome], step: Step) -> Step:
    """Say the finished requests' messages together with the next question."""
    if not closing:
        return step
    said = " ".join(o.text for o in closing)
    if isinstance(step, Ask):
        return Ask(text=f"{said} {step.text}", wants=list(step.wants))
    if isinstance(step, Reply):
        return Reply(text=f"{said} {step.text}")
    if isinstance(step, Resolve):
        return Resolve(summary=f"{said} {step.summary}", outcome=step.outcome)
    return step  # a tool call first; the closing messages come with the next message


def _after_closing(ctx: Context, closing: list[Outcome]) -> Step:
    said = " ".join(o.text for o in closing)
    everything = _all_outcomes(ctx, closing)
    if everything and all(o.kind == "refused" for o in everything):
        return Resolve(summary=said, outcome="refused")
    if len([o for o in closing if o.money_back > 0]) >= 2:
        said += f" {_total_line(closing)}"
    return Ask(text=f"{said} {ANYTHING_ELSE}", wants=[])


def _total_line(outcomes: list[Outcome]) -> str:
    total = sum(o.money_back for o in outcomes)
    return f"In total, {money(total)} comes back to you."


def _all_outcomes(ctx: Context, closing: list[Outcome]) -> list[Outcome]:
    """The outcomes of every request of the conversation (closed ones re-derived)."""
    found = list(closing)
    for task in ctx.board.tasks:
        if task.closed and task.intent not in ("greeting",):
            result = run_playbook(ctx, task)
            if isinstance(result, Outcome):
                found.append(result)
    return found


def _no_request(ctx: Context) -> Step:
    conversation = ctx.conversation
    board = ctx.board
    last = conversation.last_message
    if last is None:
        return Ask(text="Hello! How can I help you today?", wants=[])
    if board.loose and conversation.user_id is None and not board.tasks:
        step = authenticate(ctx)
        if isinstance(step, CallTool):
            return step
    elif conversation.user_id is not None and conversation.user is None:
        step = authenticate(ctx)
        if step is not None:
            return step
    answered = [t for t in board.tasks if t.closed]
    answer = yes_no(last.text)
    if last.index in board.not_understood:
        return Ask(
            text=f"{CLARIFY} what you need. I can help with your orders (status, cancellations, "
            "changes, returns and exchanges), deliveries, refunds and your account. What would "
            "you like to do?",
            wants=[],
        )
    finished = answer == "no" or (last.after_anything_else and is_dont_know(last.text))
    if answered and finished:
        return Resolve(summary=_goodbye(ctx), outcome=_final_outcome(ctx))
    if answered and last.after_anything_else:
        return Ask(text="Sure, what else can I help you with?", wants=[])
    if answered:
        return Ask(text=ANYTHING_ELSE, wants=[])
    if answer == "no" and not board.tasks and board.not_understood:
        # The only request was one the shop can't help with: a polite refusal.
        return Resolve(
            summary="I'm sorry I couldn't help with that: I can only help with your orders, "
            "deliveries, refunds and account. Have a great day.",
            outcome="refused",
        )
    if answer == "no" and not board.tasks:
        return Resolve(summary="You're welcome! Have a great day.", outcome="resolved")
    name = ((conversation.user or {}).get("name") or {}).get("first_name")
    greeting = f"Thanks, {name}, you're verified. " if name else ""
    return Ask(text=f"{greeting}How can I help you today?", wants=[])


def _final_outcome(ctx: Context) -> Any:
    # Refused when a request was refused and nothing was done: answers given on the side
    # ("no refunds on it yet") don't make an impossible request resolved.
    outcomes = _all_outcomes(ctx, [])
    kinds = {o.kind for o in outcomes}
    if "refused" in kinds and not kinds & {"done", "declined"}:
        return "refused"
    return "resolved"


def _goodbye(ctx: Context) -> str:
    outcomes = [o for o in _all_outcomes(ctx, []) if o.kind == "done"]
    recaps = [o.recap for o in outcomes if o.recap]
    recap = f" To recap: {'; '.join(recaps)}." if recaps else ""
    if len([o for o in outcomes if o.money_back > 0]) >= 2:
        recap += f" {_total_line(outcomes)}"
    return f"You're welcome!{recap} Have a great day."
