"""The runs store: every eval run and every trial, in the framework's database.

Tables live beside the framework store's (SQLite under the data directory by default,
PostgreSQL by URL), so ``resolve eval compare`` and ``resolve eval drift`` can read any
earlier run by its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from evals._results import RunSummary, TrialResult
from evals.errors import EvalConfigError
from tools._sql import SqlBackend

__all__ = ["RunStore"]

_metadata = MetaData()


class _Base(DeclarativeBase):
    metadata = _metadata


class _Run(_Base):
    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[str] = mapped_column(String(40), index=True)
    suite: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class _Trial(_Base):
    __tablename__ = "eval_trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    scenario_id: Mapped[str] = mapped_column(String(120))
    trial: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class RunStore:
    """Eval runs and trials.

    Args:
        url_or_path: A SQLite path or a SQLAlchemy URL (the framework store's).
    """

    def __init__(self, url_or_path: str | Path) -> None:
        self._db = SqlBackend(url_or_path, _metadata)
        self._db.create_schema()

    def dispose(self) -> None:
        """Close the connections."""
        self._db.dispose()

    def save(self, summary: RunSummary, trials: Sequence[TrialResult]) -> None:
        """Store a run and all its trials in one transaction."""

        def work(session: Session) -> None:
            session.add(
                _Run(
                    id=summary.run_id,
                    created_at=summary.created_at.isoformat(),
                    suite=summary.suite[:500],
                    fingerprint=summary.fingerprint,
                    summary=summary.model_dump(mode="json"),
                )
            )
            session.add_all(
                _Trial(
                    run_id=summary.run_id,
                    scenario_id=t.scenario_id,
                    trial=t.trial,
                    passed=t.passed,
                    outcome=t.outcome,
                    result=t.model_dump(mode="json"),
                )
                for t in trials
            )

        with self._db.session() as session, session.begin():
            work(session)

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """The most recent runs, newest first."""

        def work(session: Session) -> list[RunSummary]:
            rows = session.scalars(select(_Run).order_by(_Run.created_at.desc()).limit(limit))
            return [RunSummary.model_validate(r.summary) for r in rows]

        found: list[RunSummary] = self._db.read(work)
        return found

    def resolve_id(self, run: str) -> str:
        """A run id from an id, a unique id prefix, ``latest`` or ``previous``.

        Raises:
            EvalConfigError: No run, or an ambiguous prefix.
        """

        def work(session: Session) -> list[str]:
            if run in ("latest", "previous"):
                ids = session.scalars(select(_Run.id).order_by(_Run.created_at.desc()).limit(2))
                return list(ids)
            return list(session.scalars(select(_Run.id).where(_Run.id.startswith(run))))

        ids: list[str] = self._db.read(work)
        if run == "latest" and ids:
            return ids[0]
        if run == "previous" and len(ids) == 2:
            return ids[1]
        if run in ids:
            return run
        if len(ids) == 1 and run not in ("latest", "previous"):
            return ids[0]
        if not ids or run in ("latest", "previous"):
            raise EvalConfigError(f"no eval run {run!r} in the runs store")
        raise EvalConfigError(f"run id prefix {run!r} is ambiguous: {', '.join(ids[:5])}")

    def load(self, run: str) -> tuple[RunSummary, list[TrialResult]]:
        """A run's summary and trials (``run`` as :meth:`resolve_id` takes it)."""
        run_id = self.resolve_id(run)

        def work(session: Session) -> tuple[RunSummary, list[TrialResult]]:
            row = session.get(_Run, run_id)
            assert row is not None
            trials = session.scalars(
                select(_Trial).where(_Trial.run_id == run_id).order_by(_Trial.id)
            )
            return RunSummary.model_validate(row.summary), [
                TrialResult.model_validate(t.result) for t in trials
            ]

        found: tuple[RunSummary, list[TrialResult]] = self._db.read(work)
        return found
