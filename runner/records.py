"""Writing execution and step records (DESIGN.md §1: the runner keeps the database current).

Every write is one short transaction of Core ``UPDATE`` statements; they are idempotent, so an
activity that is retried, or a record written twice, leaves the same row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.db import Database
from registry.executions.models import Execution, StepRun
from registry.models_base import utcnow
from runner.messages import Records


class Recorder:
    """Record writes for one database; remembers execution primary keys it has looked up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pks: dict[str, int] = {}

    async def _pk(self, session: AsyncSession, execution_id: str) -> int | None:
        pk = self._pks.get(execution_id)
        if pk is None:
            found = await session.exec(
                select(Execution.id).where(Execution.execution_id == execution_id)  # type: ignore[call-overload]
            )
            pk = found.first()
            if pk is None:
                return None  # deleted while it ran: nothing left to record
            if len(self._pks) > 10_000:
                self._pks.clear()
            self._pks[execution_id] = pk
        return pk

    async def apply(self, records: Records) -> None:
        if records.empty():
            return
        async with self.db.write() as session:
            await self._apply(session, records, utcnow())

    async def _apply(self, session: AsyncSession, records: Records, now: datetime) -> int | None:
        pk = await self._pk(session, records.execution_id)
        if pk is None:
            return None
        for step in records.steps:
            values: dict[str, Any] = {"status": step.status}
            if step.status == "pending":
                values.update(error=None, finished_at=None)
            if step.error is not None:
                values["error"] = step.error
            if step.waiting_for is not None:
                values["waiting_for"] = step.waiting_for
            if step.outputs is not None:
                values["outputs"] = step.outputs
            if step.finished:
                values["finished_at"] = now
            values["record_seq"] = step.seq
            await session.execute(
                update(StepRun)
                .where(
                    StepRun.execution_pk == pk,  # type: ignore[arg-type]
                    StepRun.name == step.step,  # type: ignore[arg-type]
                    StepRun.record_seq < step.seq,  # type: ignore[arg-type]
                )
                .values(**values)
            )
        for execution in records.execution:
            values = {}
            if execution.status is not None:
                values["status"] = execution.status
                values["error"] = execution.error
                if execution.status == "running":
                    values["finished_at"] = None
            if execution.parameters is not None:
                values["parameters"] = execution.parameters
            if execution.finished:
                values["finished_at"] = now
            values["record_seq"] = execution.seq
            await session.execute(
                update(Execution)
                .where(Execution.id == pk, Execution.record_seq < execution.seq)  # type: ignore[arg-type]
                .values(**values)
            )
        return pk

    async def step_started(
        self,
        records: Records,
        step: str,
        *,
        seq: int,
        attempt: int,
        log_key: str | None,
        parameters: dict[str, Any],
        inputs: dict[str, Any],
    ) -> None:
        """The batched transitions, then this step ``running`` (and its execution)."""
        now = utcnow()
        async with self.db.write() as session:
            pk = await self._apply(session, records, now)
            if pk is None:
                return
            await session.execute(
                update(StepRun)
                .where(StepRun.execution_pk == pk, StepRun.name == step)  # type: ignore[arg-type]
                .values(
                    status="running",
                    attempt=attempt,
                    started_at=now,
                    finished_at=None,
                    error=None,
                    log_key=log_key,
                    parameters=parameters,
                    inputs=inputs,
                    waiting_for=[],
                    # SQLite's two-argument max() is PostgreSQL's greatest().
                    record_seq=(func.max if self.db.is_sqlite else func.greatest)(
                        StepRun.record_seq, seq
                    ),
                )
            )
            await session.execute(
                update(Execution)
                .where(Execution.id == pk, Execution.started_at.is_(None))  # type: ignore[union-attr, arg-type]
                .values(started_at=now)
            )

    async def step_finished(
        self,
        execution_id: str,
        step: str,
        *,
        status: str,
        outputs: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "error": error}
        if status != "running":
            values["finished_at"] = utcnow()
        if outputs is not None:
            values["outputs"] = outputs
        if metrics is not None:
            values["metrics"] = metrics
        async with self.db.write() as session:
            pk = await self._pk(session, execution_id)
            if pk is None:
                return
            await session.execute(
                update(StepRun)
                .where(StepRun.execution_pk == pk, StepRun.name == step)  # type: ignore[arg-type]
                .values(**values)
            )
