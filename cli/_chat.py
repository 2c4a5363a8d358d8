r"""``resolve chat``: talk to the agent in the terminal, as a customer, with a reviewer's hand.

Every tool call, policy decision, confirmation and review shows as a dim line under the
agent's message, so a policy author sees why the agent did what it did. Lines come from stdin
one at a time, so the command also runs piped (``printf 'hi\n/quit\n' | resolve chat``).
In a terminal it keeps a prompt history (prompt_toolkit when installed, else readline).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import TypeAdapter, ValidationError
from rich.markup import escape

from agents import AgentConfigError, ConversationBusy, Planner, Reply, ResolutionAgent, Step
from cli._common import DbOption, console, err_console, fail_cleanly, retail_db
from config import get_settings
from tools.retail import retail_counts

__all__ = ["chat"]

PlannerName = Literal["scripted", "offline", "openai", "handoff"]
_STEPS: TypeAdapter[list[Step]] = TypeAdapter(list[Step])
_REVIEWER = "local reviewer (resolve chat)"
_HELP = (
    "/quit ends, /new starts a new conversation, /state shows where it stands, "
    "/approve <reason> or /reject <reason> decides a pending review as a local reviewer"
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=code)


# -- planners ----------------------------------------------------------------------------------
def _load_script(path: Path) -> list[Step]:
    """The steps of a ``--script`` file: a JSON list of step objects."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(f"cannot read --script {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise _fail(f"--script {path} is not JSON: {error}") from None
    try:
        return _STEPS.validate_python(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'steps'}: {e['msg']}"
            for e in error.errors(include_url=False)[:3]
        )
        raise _fail(
            f"--script {path} must be a JSON list of steps such as "
            f'{{"kind": "call_tool", "name": "...", "args": {{}}}}: {problems}'
        ) from None


def _planner(name: PlannerName, script: Path | None, model: str | None) -> tuple[Planner, str]:
    """The planner and a line describing it."""
    if script is not None and name != "scripted":
        raise _fail("--script goes with --planner scripted")
    if name == "scripted":
        from agents.testing import ScriptedPlanner

        if script is None:
            raise _fail("--planner scripted needs --script FILE (a JSON list of steps)")
        steps = _load_script(script)
        return ScriptedPlanner(steps), f"scripted ({len(steps)} steps from {script})"
    if name == "openai":
        try:
            from agents.planners._openai import OpenAIPlanner
        except ImportError as error:
            raise _fail(
                f"the openai planner is not available in this installation: {error}"
            ) from None
        try:
            planner = OpenAIPlanner.from_env(model)
        except AgentConfigError as error:
            raise _fail(str(error)) from None
        return planner, f"openai ({planner.model})"
    from agents import HandoffPlanner

    if name == "offline":
        from agents.planners.offline import OfflinePlanner

        models = get_settings().data_dir / "knowledge" / "models"
        return OfflinePlanner(cache_dir=models), "offline (local sentence model, no server)"
    return HandoffPlanner(), "handoff: every conversation goes to a person"


# -- input -------------------------------------------------------------------------------------
def _line_reader(history: Path) -> Callable[[], Awaitable[str | None]]:
    """Return an async ``read()``: the next line, or None at the end of input."""
    if not sys.stdin.isatty():

        async def piped() -> str | None:
            line = sys.stdin.readline()
            if not line:
                return None
            text = line.rstrip("\r\n")
            console.print(f"[bold cyan]you>[/] {escape(text)}", highlight=False)
            return text

        return piped
    history.parent.mkdir(parents=True, exist_ok=True)
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.formatted_text import HTML
        from prompt_toolkit.history import FileHistory
    except ImportError:
        return _readline_reader(history.with_name(history.name + ".readline"))
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))

    async def prompted() -> str | None:
        while True:
            try:
                text: str = await session.prompt_async(HTML("<b><ansicyan>you&gt;</ansicyan></b> "))
                return text
            except KeyboardInterrupt:
                continue  # Ctrl-C clears the line; Ctrl-D or /quit ends
            except EOFError:
                return None

    return prompted


def _readline_reader(history: Path) -> Callable[[], Awaitable[str | None]]:
    import atexit
    import readline

    with contextlib.suppress(OSError):  # no history yet
        readline.read_history_file(history)
    readline.set_history_length(1000)
    atexit.register(readline.write_history_file, history)

    async def prompted() -> str | None:
        try:
            return input("you> ")
        except EOFError:
            console.print()
            return None

    return prompted


# -- rendering ---------------------------------------------------------------------------------
def _tool_line(entry: dict[str, Any]) -> None:
    name = escape(str(entry.get("name")))
    if entry.get("ok"):
        label = "[green]replayed[/]" if entry.get("replayed") else "[green]ok[/]"
        console.print(f"  [dim]tool {name}[/] {label}")
        return
    result = entry.get("result")
    error = result.get("error") if isinstance(result, dict) else result
    console.print(f"  [dim]tool {name}[/] [red]error[/] [dim]{escape(str(error))}[/]")


def _decision_line(entry: dict[str, Any]) -> None:
    effect = str(entry.get("effect"))
    colour = {"deny": "red", "declined": "red", "escalate": "magenta"}.get(effect, "yellow")
    why = ", ".join(entry.get("rules") or []) or "; ".join(entry.get("messages") or [])
    console.print(
        f"  [dim]policy[/] [{colour}]{escape(effect)}[/] "
        f"[dim]{escape(str(entry.get('name')))}: {escape(why)}[/]"
    )


def _message_line(text: str) -> None:
    console.print(f"[bold green]agent>[/] {escape(text)}", highlight=False)


class _Chat:
    """One terminal session: the agent, the current conversation, the meta-commands."""

    def __init__(self, agent: ResolutionAgent, conversation: str) -> None:
        self.agent = agent
        self.conversation = conversation

    async def status_line(self, status: str, review_id: str | None) -> None:
        if status == "awaiting_confirmation":
            console.print("  [dim]confirmation: answer yes to go ahead; anything else declines[/]")
        elif status == "awaiting_review" and review_id:
            console.print(
                f"  [yellow]waiting for review[/] [bold]{escape(review_id)}[/]: decide here with "
                "/approve <reason> or /reject <reason> (as a local reviewer), or in Python: "
                f"[dim]await agent.decide({review_id!r}, 'approve', reviewer=..., reason=...)[/]"
            )
        elif status == "escalated":
            items = [
                r.id
                for r in self.agent.store.list_reviews("open")
                if r.thread_id == self.conversation and r.action.get("name") == "handoff"
            ]
            where = f" (review item {escape(items[-1])})" if items else ""
            console.print(f"  [magenta]handed off to a person[/]{where}; /new starts another")
        elif status in ("resolved", "refused"):
            console.print(f"  [dim]conversation {status}; /new starts another[/]")

    async def say(self, text: str) -> None:
        """Send a customer message, showing tool calls and decisions as they happen."""
        status, review_id = "active", None
        async for event in self.agent.stream(self.conversation, text):
            if event.type == "tool":
                _tool_line(event.data)
            elif event.type == "decision":
                _decision_line(event.data)
            elif event.type == "message":
                _message_line(str(event.data.get("text", "")))
            elif event.type == "status":
                status, review_id = str(event.data["status"]), event.data.get("review_id")
        await self.status_line(status, review_id)

    async def busy(self, error: ConversationBusy) -> None:
        """The message was not delivered: say why and what unblocks the conversation."""
        state = await self.agent.state(self.conversation)
        pending = state.get("pending")
        if state.get("status") == "awaiting_review" and pending and pending["review_id"]:
            console.print("  [yellow]not delivered: this conversation is waiting for a reviewer[/]")
            await self.status_line("awaiting_review", pending["review_id"])
        else:
            console.print(f"  [yellow]not delivered: {escape(str(error))}[/] [dim]- {_HELP}[/]")

    async def show(self, reply: Reply) -> None:
        for action in reply.actions:
            _tool_line(action)
        for decision in reply.decisions:
            _decision_line(decision)
        for message in reply.messages:
            _message_line(message)
        await self.status_line(reply.status, reply.review_id)

    async def decide(self, verdict: Literal["approve", "reject"], reason: str) -> None:
        state = await self.agent.state(self.conversation)
        pending = state.get("pending")
        review_id = pending.get("review_id") if pending else None
        if state.get("status") != "awaiting_review" or not review_id:
            console.print("  [dim]nothing in this conversation waits for a review[/]")
            return
        reason = reason or ("approved" if verdict == "approve" else "rejected by the reviewer")
        reply = await self.agent.decide(review_id, verdict, reviewer=_REVIEWER, reason=reason)
        console.print(f"  [dim]review {escape(review_id)}: {verdict} - {escape(reason)}[/]")
        await self.show(reply)

    async def state(self) -> None:
        state = await self.agent.state(self.conversation)
        pending = state.get("pending")
        held = "-"
        if pending:
            held = f"{pending['name']} {json.dumps(pending['args'])} ({pending['effect']})"
            if pending.get("review_id"):
                held += f", review {pending['review_id']}"
        rows = {
            "conversation": self.conversation,
            "status": state.get("status", "active"),
            "customer": state.get("customer_id") or "not verified",
            "turns": state.get("turn", 0),
            "steps": state.get("step", 0),
            "pending": held,
            "actions taken": ", ".join(state.get("actions_taken", [])) or "-",
            "flags": ", ".join(state.get("flags", [])) or "-",
        }
        for key, value in rows.items():
            console.print(f"  [dim]{key:>13}:[/] {escape(str(value))}")

    async def command(self, line: str) -> bool:
        """Run a meta-command; False when the session should end."""
        name, _, rest = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/new":
            self.conversation = _new_id()
            console.print(f"  [dim]new conversation[/] [bold]{self.conversation}[/]")
        elif name == "/state":
            await self.state()
        elif name in ("/approve", "/reject"):
            await self.decide("approve" if name == "/approve" else "reject", rest.strip())
        elif name == "/help":
            console.print(f"  [dim]{_HELP}[/]")
        else:
            console.print(f"  [red]unknown command {escape(name)}[/] [dim]- {_HELP}[/]")
        return True

    async def resume_if_cut_off(self) -> None:
        state = await self.agent.state(self.conversation)
        if not state.get("turn"):
            return
        console.print(
            f"  [dim]resuming {escape(self.conversation)}: {state.get('status')}, "
            f"{state.get('turn')} turns[/]"
        )
        reply = await self.agent.resume(self.conversation)
        if reply is not None:
            await self.show(reply)
        elif state.get("status") == "awaiting_review":
            pending = state.get("pending")
            await self.status_line("awaiting_review", pending["review_id"] if pending else None)


def _new_id() -> str:
    return f"chat-{uuid.uuid4().hex[:10]}"


async def _session(
    planner: Planner, planner_line: str, db: str, store: str, checkpoints: str, conversation: str
) -> int:
    agent = await ResolutionAgent.open(
        retail_db=db, store=store, checkpoints=checkpoints, planner=planner
    )
    try:
        session = _Chat(agent, conversation)
        console.print(
            f"[bold]resolve chat[/] - conversation [bold]{escape(conversation)}[/]\n"
            f"  [dim]planner:[/] {escape(planner_line)}\n"
            f"  [dim]retail db:[/] {escape(db)}  [dim]store:[/] {escape(store)}  "
            f"[dim]checkpoints:[/] {escape(checkpoints)}\n  [dim]{_HELP}[/]"
        )
        if retail_counts(agent.context.backend)["orders"] == 0:
            console.print(
                "  [yellow]the retail database is empty[/]: run `resolve data seed` first"
            )
        await session.resume_if_cut_off()
        read = _line_reader(get_settings().data_dir / "chat_history")
        while (line := await read()) is not None:
            text = line.strip()
            if not text:
                continue
            if text.startswith("/"):
                if not await session.command(text):
                    break
                continue
            try:
                await session.say(text)
            except ConversationBusy as error:
                await session.busy(error)
            except (AgentConfigError, typer.Exit):
                raise
            except Exception as error:  # a run failure: say what broke, not a traceback
                err_console.print(
                    f"[bold red]error:[/] the turn failed: {type(error).__name__}: "
                    f"{escape(str(error))}"
                )
                return 1
        return 0
    finally:
        closer = getattr(planner, "aclose", None)
        if closer is not None:
            await closer()
        await agent.aclose()


def chat(
    planner: Annotated[
        PlannerName,
        typer.Option(help="Who plans each step; offline (no model server) is the default."),
    ] = "offline",
    db: DbOption = None,
    store: Annotated[
        str | None,
        typer.Option(help="Framework store (default: RESOLVE_DATABASE_URL, else <data dir>)."),
    ] = None,
    checkpoints: Annotated[
        str | None,
        typer.Option(
            help="'memory', a SQLite file or a postgresql:// URL "
            "(default: <data dir>/checkpoints.db)."
        ),
    ] = None,
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation id (default: a new one).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model for --planner openai (default: RESOLVE_OPENAI_MODEL).")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(help="For --planner scripted: a JSON list of steps to replay."),
    ] = None,
) -> None:
    """Chat with the agent as a customer; tool calls and policy decisions show as they happen."""
    settings = get_settings()
    chosen, line = _planner(planner, script, model)
    with fail_cleanly():
        try:
            code = asyncio.run(
                _session(
                    chosen,
                    line,
                    retail_db(db),
                    store or settings.store_location(),
                    checkpoints or str(settings.data_dir / "checkpoints.db"),
                    conversation or _new_id(),
                )
            )
        except AgentConfigError as error:
            raise _fail(str(error)) from None
    raise typer.Exit(code=code)
