"""The ``openai`` planner: chat completions with tool calling through the official client.

It works with any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server) through a
base URL, or with a ready ``AsyncOpenAI`` client. Transient failures (429, timeouts, connection
errors, 5xx) are retried with tenacity; the client's own retries are switched off so that one
policy decides. Token usage, an estimated cost and the latency go on every returned step.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageToolCallUnion,
)
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agents._planner import PlannerInput
from agents._steps import CallTool, Escalate, Reply, Resolve, Step, StepUsage
from agents.errors import AgentConfigError
from agents.planners._errors import PlannerError, PlannerRequestError, PlannerUnavailable
from agents.planners._pricing import estimate_cost
from agents.planners._prompt import (
    DEFAULT_INSTRUCTIONS,
    ESCALATE_TOOL,
    HANDOFF_TOOLS,
    RESOLVE_TOOL,
    build_messages,
    build_system_prompt,
    last_customer_message,
    offered_tools,
    prompt_hash,
    tool_name,
)

__all__ = ["DEFAULT_MODEL", "OpenAIPlanner", "is_retryable", "retry_after"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"
# OpenAI-compatible servers without auth still expect some bearer value.
_NO_KEY = "not-needed"
_REPAIR_HINT = (
    "Call the tool again with arguments that are one JSON object matching its schema, "
    "call another offered tool, or reply to the customer."
)
_EMPTY_NOTE = (
    "(automatic note, not from the customer) Your last reply was empty. "
    "Reply to the customer or call one of the offered tools."
)


def is_retryable(error: BaseException) -> bool:
    """True for failures worth retrying: 429, 5xx, timeouts and connection errors."""
    if isinstance(error, openai.APIConnectionError):  # APITimeoutError included
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return False


def retry_after(error: BaseException | None) -> float | None:
    """The wait a failed response asks for (``retry-after-ms`` or ``Retry-After``), in seconds."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Backoff:
    """Tenacity wait: exponential with jitter, or the server's ``Retry-After``; both capped.

    Args:
        initial: The first wait (and the jitter's range), in seconds.
        maximum: No wait is longer, whatever the server asks.
    """

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        """Return the seconds to wait before the next attempt."""
        error = state.outcome.exception() if state.outcome is not None else None
        wait = retry_after(error)
        if wait is None:
            exponent = min(max(state.attempt_number - 1, 0), 60)
            wait = self.initial * 2**exponent + random.uniform(0, self.initial)
        return max(0.0, min(wait, self.maximum))


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    logger.warning(
        "model call failed (%s); retry %d in %.3fs",
        type(error).__name__,
        state.attempt_number,
        wait,
        extra={"retry_wait": wait, "retry_attempt": state.attempt_number},
    )


@dataclass
class _Malformed:
    """A reply that cannot become a step, and the messages that tell the model why."""

    problem: str
    feedback: list[dict[str, Any]]


@dataclass
class _Tally:
    """Usage summed over every completion one step took (repairs included)."""

    model: str
    started: float = field(default_factory=time.perf_counter)
    reported: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, completion: ChatCompletion) -> None:
        self.reported = completion.model or self.reported
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens or 0
            self.completion_tokens += completion.usage.completion_tokens or 0

    def usage(self) -> StepUsage:
        cost = estimate_cost(self.model, self.prompt_tokens, self.completion_tokens)
        if not cost:
            cost = estimate_cost(self.reported, self.prompt_tokens, self.completion_tokens)
        return StepUsage(
            model=self.reported or self.model,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=cost,
            latency_ms=(time.perf_counter() - self.started) * 1000,
        )


class OpenAIPlanner:
    """Proposes steps with a chat model through the chat completions API.

    Args:
        model: The model name the server knows (``gpt-4o-mini``, a vLLM model id...).
        client: A ready ``AsyncOpenAI`` client (auth, base URL, HTTP settings are its own);
            its built-in retries are switched off in favour of this planner's. Use it from
            one event loop; a client the planner builds itself follows the running loop.
        base_url: An OpenAI-compatible server's URL, when no client is given.
        api_key: The key for ``base_url``; a local server without auth needs none.
        max_retries: Retries after a 429, 5xx, timeout or connection error.
        backoff_initial: The first backoff wait, in seconds.
        backoff_max: The longest wait, even when the server's ``Retry-After`` asks for more.
        max_argument_repairs: How often the model is asked to fix a malformed tool call
            before the planner escalates.
        temperature: Sampling temperature.
        timeout: Seconds to wait for one completion.
        system_prompt: Replaces the agent's instructions; the policy and the retrieved
            passages are still appended.
        knowledge_k: Passages retrieved per turn when the request carries knowledge.

    Raises:
        AgentConfigError: Both a client and base_url/api_key, no way to authenticate with
            OpenAI, or an out-of-range setting.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        client: openai.AsyncOpenAI | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        max_argument_repairs: int = 2,
        temperature: float = 0.0,
        timeout: float = 60.0,
        system_prompt: str | None = None,
        knowledge_k: int = 3,
    ) -> None:
        if min(max_retries, max_argument_repairs) < 0 or knowledge_k < 1:
            raise AgentConfigError(
                "max_retries and max_argument_repairs must be >= 0 and knowledge_k >= 1"
            )
        if min(backoff_initial, backoff_max) < 0 or timeout <= 0:
            raise AgentConfigError("backoff_initial and backoff_max must be >= 0, timeout > 0")
        if client is not None and (base_url is not None or api_key is not None):
            raise AgentConfigError(
                "pass either a ready client= or base_url=/api_key=, not both: "
                "the client already carries its URL and key"
            )
        self._factory: Callable[[], openai.AsyncOpenAI] | None = None
        if client is None:
            if base_url is None and api_key is None:
                raise AgentConfigError(
                    "OpenAIPlanner needs api_key= for api.openai.com, base_url= for a "
                    "compatible server, or client=; OpenAIPlanner.from_env() reads "
                    "OPENAI_API_KEY and OPENAI_BASE_URL"
                )
            url, key = base_url or OPENAI_BASE_URL, api_key or _NO_KEY

            def factory() -> openai.AsyncOpenAI:
                return openai.AsyncOpenAI(base_url=url, api_key=key, max_retries=0, timeout=timeout)

            self._factory = factory
            client = factory()
        else:
            client = client.with_options(max_retries=0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.model = model
        self.client = client
        self.base_url = str(client.base_url).rstrip("/")
        self.max_retries = max_retries
        self.backoff = Backoff(backoff_initial, backoff_max)
        self.max_argument_repairs = max_argument_repairs
        self.temperature = temperature
        self.timeout = timeout
        self.instructions = system_prompt or DEFAULT_INSTRUCTIONS
        self.knowledge_k = knowledge_k
        self._prompt_hash = prompt_hash(self.instructions)

    @classmethod
    def from_env(cls, model: str | None = None, **options: Any) -> OpenAIPlanner:
        """Build from ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` and ``RESOLVE_OPENAI_MODEL``.

        Args:
            model: Overrides ``RESOLVE_OPENAI_MODEL`` (default ``gpt-4o-mini``).
            **options: Other constructor arguments (retries, temperature...).
        """
        env = os.environ
        return cls(
            model or env.get("RESOLVE_OPENAI_MODEL") or DEFAULT_MODEL,
            base_url=env.get("OPENAI_BASE_URL") or None,
            api_key=env.get("OPENAI_API_KEY") or None,
            **options,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections of the client this planner built (not a given one).

        The planner stays usable: a later call opens new connections.
        """
        if self._factory is not None:
            await self.client.close()
            self.client = self._factory()
            self._loop = None

    def _loop_client(self) -> openai.AsyncOpenAI:
        # An HTTP connection pool belongs to one event loop; a planner reused under a new
        # loop (asyncio.run per conversation) gets a fresh client when it built its own.
        loop = asyncio.get_running_loop()
        if self._factory is not None and self._loop is not None and self._loop is not loop:
            self.client = self._factory()
        self._loop = loop
        return self.client

    def fingerprint(self) -> dict[str, Any]:
        """Planner, model, the system prompt template's sha256 and the server's URL."""
        return {
            "planner": self.name,
            "model": self.model,
            "prompt_hash": self._prompt_hash,
            "base_url": self.base_url,
        }

    async def plan(self, request: PlannerInput) -> Step:
        """Ask the model for the next step.

        A malformed tool call (bad JSON, not an object, a tool not offered) is sent back with
        the error, at most ``max_argument_repairs`` times; then the planner escalates.

        Raises:
            PlannerRequestError: The server rejected the request (a 4xx other than 429).
            PlannerUnavailable: The server kept failing through every retry.
        """
        system = build_system_prompt(
            self.instructions, request.policy_text, self._retrieve(request)
        )
        messages = build_messages(request.state, system)
        tools = offered_tools(request.tools)
        offered = [tool_name(t) for t in tools]
        tally = _Tally(self.model)
        problem = ""
        for _ in range(self.max_argument_repairs + 1):
            completion = await self._complete(messages, tools)
            tally.add(completion)
            outcome = self._interpret(completion, offered)
            if not isinstance(outcome, _Malformed):
                return outcome.model_copy(update={"usage": tally.usage()})
            logger.info("malformed model reply: %s", outcome.problem)
            problem = outcome.problem
            messages.extend(outcome.feedback)
        return Escalate(
            reason=f"the model's tool calls stayed malformed after "
            f"{self.max_argument_repairs} repair(s): {problem}",
            usage=tally.usage(),
        )

    def _retrieve(self, request: PlannerInput) -> list[dict[str, Any]]:
        if request.knowledge is None:
            return []
        query = last_customer_message(request.state)
        if not query:
            return []
        return list(request.knowledge.search(query, self.knowledge_k))[: self.knowledge_k]

    async def _complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ChatCompletion:
        attempts = 0
        client = self._loop_client()

        body = {
            "model": self.model,
            "messages": messages,
            "tools": tools,
            "tool_choice": "auto",
            "temperature": self.temperature,
        }

        async def create() -> ChatCompletion:
            # The client's documented raw ``post``: the body is plain JSON already, and
            # ``chat.completions.create`` would walk it against its TypedDicts first
            # (~9 ms of the event loop per call with the tool schemas).
            nonlocal attempts
            attempts += 1
            return await client.post(
                "/chat/completions",
                body=body,
                cast_to=ChatCompletion,
                options={"timeout": self.timeout},
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self.backoff,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return await retrying(create)
        except openai.APIStatusError as error:
            raise self._status_error(error, attempts) from error
        except openai.APIConnectionError as error:
            what = "timed out" if isinstance(error, openai.APITimeoutError) else "was unreachable"
            raise PlannerUnavailable(
                f"the model server at {self.base_url} {what} on all {attempts} attempt(s)",
                attempts=attempts,
            ) from error
        except openai.OpenAIError as error:
            raise PlannerError(
                f"the model server's answer could not be used: {error}", attempts=attempts
            ) from error

    def _status_error(self, error: openai.APIStatusError, attempts: int) -> PlannerError:
        status = error.status_code
        if is_retryable(error):
            return PlannerUnavailable(
                f"the model server at {self.base_url} answered {status} on all {attempts} "
                f"attempt(s): {error.message}",
                status_code=status,
                attempts=attempts,
            )
        hint = " (check the API key)" if status in (401, 403) else ""
        return PlannerRequestError(
            f"the model server at {self.base_url} rejected the request for model "
            f"{self.model!r} with {status}{hint}: {error.message}",
            status_code=status,
            attempts=attempts,
        )

    def _interpret(self, completion: ChatCompletion, offered: list[str]) -> Step | _Malformed:
        if not completion.choices:
            raise PlannerError("the model server answered without any choice")
        message = completion.choices[0].message
        if message.tool_calls:
            if len(message.tool_calls) > 1:
                logger.info(
                    "the model proposed %d tool calls; only the first is taken",
                    len(message.tool_calls),
                )
            return self._tool_step(message, message.tool_calls[0], offered)
        text = (message.content or message.refusal or "").strip()
        if text:
            return Reply(text=text)
        return _Malformed("the reply was empty", [{"role": "user", "content": _EMPTY_NOTE}])

    def _tool_step(
        self,
        message: ChatCompletionMessage,
        call: ChatCompletionMessageToolCallUnion,
        offered: list[str],
    ) -> Step | _Malformed:
        call_id = call.id or "call_repair"
        if call.type == "function":
            name, raw = call.function.name, call.function.arguments
        else:
            name, raw = call.custom.name, call.custom.input
        outcome: Step | str
        if call.type != "function" or name not in offered:
            outcome = f"unknown tool {name!r}; the tools offered are: {', '.join(offered)}"
        else:
            outcome = _decode_step(name, raw, call_id)
        if not isinstance(outcome, str):
            return outcome
        echo = {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}
        return _Malformed(
            outcome,
            [
                {"role": "assistant", "content": message.content, "tool_calls": [echo]},
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": json.dumps({"error": outcome, "fix": _REPAIR_HINT}),
                },
            ],
        )


def _decode_step(name: str, raw: str, call_id: str) -> Step | str:
    """The step for a call to an offered tool, or what is wrong with its arguments."""
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as error:
        return f"the arguments of {name} are not valid JSON: {error.msg} at position {error.pos}"
    except RecursionError:
        return f"the arguments of {name} are nested too deeply"
    if not isinstance(args, dict):
        return f"the arguments of {name} must be a JSON object, not {type(args).__name__}"
    if name == RESOLVE_TOOL:
        summary, outcome = args.get("summary"), args.get("outcome", "resolved")
        if not isinstance(summary, str) or not summary.strip():
            return f"{RESOLVE_TOOL} needs a non-empty 'summary' string"
        if outcome not in ("resolved", "refused"):
            return f"{RESOLVE_TOOL}'s 'outcome' must be 'resolved' or 'refused'"
        return Resolve(summary=summary.strip(), outcome=outcome)
    if name == ESCALATE_TOOL or name in HANDOFF_TOOLS:
        reason = args.get("reason") or args.get("summary")
        text = reason.strip() if isinstance(reason, str) else ""
        return Escalate(reason=text or "the model asked for a person")
    return CallTool(name=name, args=args, call_id=call_id)
