"""tau-bench adapters: task files and the ground-truth replay."""

from evals.taubench._replay import (
    REPLAY_CLOCK,
    ActionError,
    PolicyHold,
    ReplayReport,
    TaskOutcome,
    TaubenchReplayer,
    changed_records,
)
from evals.taubench._tasks import (
    SPLITS,
    Split,
    TaubenchAction,
    TaubenchTask,
    load_tasks,
    split_file,
)

__all__ = [
    "REPLAY_CLOCK",
    "SPLITS",
    "ActionError",
    "PolicyHold",
    "ReplayReport",
    "Split",
    "TaskOutcome",
    "TaubenchAction",
    "TaubenchReplayer",
    "TaubenchTask",
    "changed_records",
    "load_tasks",
    "split_file",
]
