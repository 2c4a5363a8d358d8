"""tau-bench task files: ``[{user_id, instruction, actions: [{name, kwargs}], outputs}]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.errors import EvalConfigError

__all__ = ["SPLITS", "Split", "TaubenchAction", "TaubenchTask", "load_tasks", "split_file"]

Split = Literal["test", "train", "dev"]
SPLITS: tuple[Split, ...] = ("test", "train", "dev")


class TaubenchAction(BaseModel):
    """One ground-truth tool call."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class TaubenchTask(BaseModel):
    """A task: who the customer is, what they want, and the ground-truth actions."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    instruction: str = ""
    actions: list[TaubenchAction]
    outputs: list[str] = Field(default_factory=list)
    annotator: str | int | None = None


def split_file(data_dir: str | Path, split: Split) -> Path:
    """Return the path of ``tasks_<split>.json`` in ``data_dir``."""
    return Path(data_dir) / f"tasks_{split}.json"


def load_tasks(path: str | Path) -> list[TaubenchTask]:
    """Read a tau-bench tasks JSON file.

    Raises:
        EvalConfigError: The file is missing, not JSON, or not a list of tasks (the message
            names the first bad task).
    """
    file = Path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalConfigError(f"tasks file {file} not found") from None
    except json.JSONDecodeError as error:
        raise EvalConfigError(f"tasks file {file} is not valid JSON: {error}") from None
    if not isinstance(raw, list):
        raise EvalConfigError(f"tasks file {file} must hold a JSON list of tasks")
    tasks = []
    for index, item in enumerate(raw):
        try:
            tasks.append(TaubenchTask.model_validate(item))
        except ValidationError as error:
            raise EvalConfigError(f"task {index} in {file} is malformed: {error}") from None
    return tasks
