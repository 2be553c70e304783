"""Writing execution and step records (DESIGN.md §1: the runner keeps the database current).

Writes are short Core ``UPDATE`` statements; they are idempotent, so an activity that is
retried, or a record written twice, leaves the same row, and each carries a sequence number so
an older record never overwrites a newer one.

Writes from concurrent steps are committed together (group commit): whoever finds the writer
idle starts it, and it commits everything queued meanwhile in one transaction. On SQLite that
transaction is one call into the synchronous driver on a thread (one thread hop rather than one
per statement), which keeps the single writer lock short under load.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select, update
from sqlmodel import col

from registry.db import WRITE_OPTION, Database, tune_sqlite
from registry.executions.models import Execution, StepRun
from registry.models_base import utcnow
from runner.messages import Records

Op = Callable[[Connection, datetime], None]


class Recorder:
    """Record writes for one database; remembers execution primary keys it has looked up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pks: dict[str, int] = {}
        self._queue: list[tuple[Op, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._sync: Engine | None = None
        if db.is_sqlite:
            self._sync = _sqlite_engine(db.url.replace("+aiosqlite", "", 1))
        self._sync_lock = threading.Lock()

    # --- the writer ---------------------------------------------------------------------

    async def _submit(self, op: Op) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._commit([op for op, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def _commit(self, ops: list[Op]) -> None:
        def run(connection: Connection) -> None:
            now = utcnow()
            for op in ops:
                op(connection, now)

        if self._sync is not None:
            await asyncio.to_thread(self._commit_sync, run)
            return
        async with self.db.engine.begin() as connection:
            await connection.run_sync(run)

    def _commit_sync(self, run: Callable[[Connection], None]) -> None:
        assert self._sync is not None
        with self._sync_lock, self._sync.begin() as connection:
            run(connection)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()

    # --- the writes ---------------------------------------------------------------------

    def _pk(self, connection: Connection, execution_id: str) -> int | None:
        pk = self._pks.get(execution_id)
        if pk is None:
            pk = connection.execute(
                select(col(Execution.id)).where(col(Execution.execution_id) == execution_id)
            ).scalar_one_or_none()
            if pk is None:
                return None  # deleted while it ran: nothing left to record
            if len(self._pks) > 10_000:
                self._pks.clear()
            self._pks[execution_id] = pk
        return pk

    async def apply(self, records: Records) -> None:
        if records.empty():
            return

        def op(connection: Connection, now: datetime) -> None:
            self._apply(connection, records, now)

        await self._submit(op)

    def _apply(self, connection: Connection, records: Records, now: datetime) -> int | None:
        pk = self._pk(connection, records.execution_id)
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
            connection.execute(
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
            connection.execute(
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
        greatest = func.max if self.db.is_sqlite else func.greatest  # two-argument max

        def op(connection: Connection, now: datetime) -> None:
            pk = self._apply(connection, records, now)
            if pk is None:
                return
            connection.execute(
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
                    record_seq=greatest(StepRun.record_seq, seq),
                )
            )
            connection.execute(
                update(Execution)
                .where(Execution.id == pk, Execution.started_at.is_(None))  # type: ignore[union-attr, arg-type]
                .values(started_at=now)
            )

        await self._submit(op)

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
        if outputs is not None:
            values["outputs"] = outputs
        if metrics is not None:
            values["metrics"] = metrics

        def op(connection: Connection, now: datetime) -> None:
            pk = self._pk(connection, execution_id)
            if pk is None:
                return
            final = dict(values)
            if status != "running":
                final["finished_at"] = now
            connection.execute(
                update(StepRun)
                .where(StepRun.execution_pk == pk, StepRun.name == step)  # type: ignore[arg-type]
                .values(**final)
            )

        await self._submit(op)


def _sqlite_engine(url: str) -> Engine:
    """A synchronous engine tuned like the app's; every transaction it begins is a write."""
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    tune_sqlite(engine)
    return engine.execution_options(**{WRITE_OPTION: True})
