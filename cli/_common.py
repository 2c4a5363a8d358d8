"""What every command shares: consoles, the ``--db`` option, turning errors into exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from config import get_settings
from evals.errors import EvalError
from policies.errors import PolicyError
from tools.errors import ResolveToolsError

__all__ = ["DbOption", "console", "err_console", "fail_cleanly", "print_json_line", "retail_db"]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Retail database: a SQLite file path or a SQLAlchemy URL "
        "(default: RESOLVE_RETAIL_DB, else <data dir>/retail.db).",
        show_default=False,
    ),
]


def retail_db(value: str | None) -> str:
    """Return the ``--db`` value, or the configured default."""
    return value or get_settings().retail_db_location()


def print_json_line(value: Any) -> None:
    """Print one JSON object on one line (machine-readable last line of a command)."""
    typer.echo(json.dumps(value, default=str, separators=(",", ":")))


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn configuration errors into a one-line message and exit code 2, not a traceback."""
    try:
        yield
    except (ResolveToolsError, EvalError, PolicyError) as error:
        err_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)
        raise typer.Exit(code=2) from None
