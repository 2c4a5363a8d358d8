"""Customer utterances for input drift: from suites, from the store, or from files.

A *source* is one of:

* a scenario suite (YAML file or folder): each scenario's opening (or scripted turns);
* ``store`` or ``store:DAYS``: the first message of every real conversation in the
  framework store (eval conversations left out), optionally only the last DAYS days;
* a ``.txt`` file (one utterance per line) or a ``.jsonl`` file (``{"text": ...}`` per line).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evals._scenario import load_scenarios
from evals.errors import EvalConfigError

__all__ = ["read_utterances"]

StoreReader = Callable[[datetime | None], list[str]]
"""Reads the first customer message of each conversation since a moment (or ever)."""


def _from_file(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".jsonl":
        found = []
        for number, line in enumerate(lines, start=1):
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise EvalConfigError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise EvalConfigError(f'{path}:{number}: expected {{"text": "..."}}')
            found.append(record["text"])
        return found
    return [line for line in lines if line]


def read_utterances(source: str, *, store: StoreReader | None = None) -> list[str]:
    """The customer utterances of a source (see the module docstring).

    Raises:
        EvalConfigError: An unknown source, an unreadable file, or an empty result.
    """
    if source == "store" or source.startswith("store:"):
        if store is None:
            raise EvalConfigError("no framework store to read conversations from")
        days = source.partition(":")[2]
        if days and not days.isdigit():
            raise EvalConfigError(f"store:DAYS takes a whole number of days, got {days!r}")
        since = datetime.now(UTC) - timedelta(days=int(days)) if days else None
        texts = store(since)
    else:
        path = Path(source)
        if not path.exists():
            raise EvalConfigError(f"no such source: {source} (a suite, a file, or store[:DAYS])")
        if path.is_dir() or path.suffix in (".yaml", ".yml"):
            texts = []
            for scenario in load_scenarios([path]):
                texts.extend(scenario.user.turns[:1] or [scenario.user.opening or ""])
        else:
            texts = _from_file(path)
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise EvalConfigError(f"source {source} holds no customer messages")
    return texts
