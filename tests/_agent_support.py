"""Shared pieces of the agent graph tests: a state-driven planner, data, database helpers.

The planner is a function of the state, so a conversation one process started (and crashed
in) can be driven by another: it reads the customer's email and order id from the trace.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from agents import Ask, CallTool, ReplyStep, Resolve, Step
from agents._state import AgentState
from tools import SqlBackend
from tools._sql import IdempotencyRecord
from tools.retail import export_taubench, load_taubench, open_retail_backend, read_taubench_dir

EMAIL = "yusuf.rossi7301@example.com"
USER = "yusuf_rossi_9620"
SMALL_ORDER = "#W6247578"  # pending, paid 53.27 by credit_card_9513926: confirm, then act
BIG_ORDER = "#W4776164"  # pending, paid 2772.44 by credit_card_9513926: a reviewer approves
OTHER_EMAIL = "sofia.rossi2645@example.com"  # another customer (sofia_rossi_8776)
OTHER_USER = "sofia_rossi_8776"
CANCEL = "cancel_pending_order"
DB_FILES = ("retail.db", "store.db", "checkpoints.db")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_ORDER = re.compile(r"#W\d{7}")


def customer_texts(state: AgentState) -> list[str]:
    """The customer's messages in the state's trace, in order."""
    return [str(e.get("text", "")) for e in state.get("trace", []) if e.get("kind") == "customer"]


def cancel_planner(state: AgentState) -> Step:
    """Cancel the order the customer named, after looking them up by the email they gave.

    The last cancel-related entry of the trace decides: a successful cancel resolves, a denial
    or a failed call refuses, a declined confirmation is acknowledged; otherwise the cancel is
    (re)proposed with the reason "no longer needed".
    """
    texts = " ".join(customer_texts(state))
    if state.get("customer_id") is None:
        email = _EMAIL.search(texts)
        if email is None:
            return Ask(text="Sure - what is the email address on your account?", wants=["email"])
        return CallTool(name="find_user_id_by_email", args={"email": email.group()})
    order = _ORDER.search(texts)
    if order is None:
        return Ask(text="Which order should I cancel?", wants=["order_id"])
    about_cancel = [
        e
        for e in state.get("trace", [])
        if e.get("name") == CANCEL and e.get("kind") in ("tool", "decision")
    ]
    last = about_cancel[-1] if about_cancel else None
    if last is not None and last.get("kind") == "tool":
        if last.get("ok"):
            return Resolve(summary=f"Order {order.group()} is cancelled and refunded.")
        return Resolve(summary="I could not cancel the order.", outcome="refused")
    if last is not None and last.get("effect") == "deny":
        return Resolve(summary="; ".join(last.get("messages", [])), outcome="refused")
    if last is not None and last.get("effect") == "declined":
        return ReplyStep(text="All right, I have not cancelled anything.")
    return CallTool(name=CANCEL, args={"order_id": order.group(), "reason": "no longer needed"})


def build_retail_template(taubench_dir: Path, path: Path) -> Path:
    """Write a retail SQLite database holding the tau-bench retail data."""
    backend = open_retail_backend(path)
    try:
        load_taubench(backend, read_taubench_dir(taubench_dir))
    finally:
        backend.dispose()
    return path


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database with the backup API (consistent even with a WAL)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def copy_folder(source: Path, target: Path) -> Path:
    """Copy the databases of ``DB_FILES`` that exist in ``source`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in DB_FILES:
        if (source / name).exists():
            copy_sqlite(source / name, target / name)
    return target


def order(backend: SqlBackend, order_id: str) -> dict[str, Any]:
    """The order as tau-bench lays it out (status, payment history, cancel reason...)."""
    found: dict[str, Any] = export_taubench(backend).orders[order_id]
    return found


def refunds(backend: SqlBackend, order_id: str) -> list[dict[str, Any]]:
    """The refund transactions in the order's payment history."""
    return [
        t for t in order(backend, order_id)["payment_history"] if t["transaction_type"] == "refund"
    ]


def idempotency_records(backend: SqlBackend) -> list[tuple[str, str]]:
    """``(key, tool)`` of every applied keyed write."""
    rows = backend.read(
        lambda s: list(s.execute(select(IdempotencyRecord.key, IdempotencyRecord.tool)))
    )
    return [(str(key), str(tool)) for key, tool in rows]


def count_idempotency_records(backend: SqlBackend) -> int:
    """How many keyed writes were applied."""
    count: int = backend.read(
        lambda s: s.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0
    )
    return count
