"""Writing execution and step records (DESIGN.md §1: the runner keeps the database current).

Writes are short Core ``UPDATE`` statements; they are idempotent, so an activity that is
retried, or a record written twice, leaves the same row, and each carries a sequence number so
an older record never overwrites a newer one.

Writes from concurrent steps are committed together (group commit): whoever finds the writer
idle starts it, and it commits everything queued meanwhile in one transaction. On SQLite that
transaction is one call into the synchronous driver on a thread (one thread hop rather than one
per statement), which keeps the single writer lock short under load. Each shape of ``UPDATE``
is built once and reused with new values.

A succeeded step's final record (without metrics) is the workflow's: it goes with the next
records the workflow hands out, so it is written in the same transaction as the next step's
``running``. The worker writes it as well (``final_soon``) only when nothing has written it
half a second after the step ended.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, create_engine, func, select, update
from sqlmodel import col

from registry.db import WRITE_OPTION, Database, tune_sqlite
from registry.executions.models import Execution, StepRun
from registry.models_base import utcnow
from runner.background import later
from runner.messages import Records

Op = Callable[[Connection, datetime], None]
FINAL_DELAY_SECONDS = 0.5


class Recorder:
    """Record writes for one database; remembers execution primary keys it has looked up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pks: dict[str, int] = {}
        self._started: set[int] = set()
        self._queue: list[tuple[Op, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._sync: Engine | None = None
        if db.is_sqlite:
            self._sync = _sqlite_engine(db.url.replace("+aiosqlite", "", 1))
        self._sync_lock = threading.Lock()
        self._soon: dict[tuple[str, str], _Soon] = {}

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
            pk = connection.execute(_EXECUTION_PK, {"w_id": execution_id}).scalar_one_or_none()
            if pk is None:
                return None  # deleted while it ran: nothing left to record
            if len(self._pks) > 10_000:
                self._pks.clear()
            self._pks[execution_id] = pk
        return pk

    async def apply(self, records: Records) -> None:
        if records.empty():
            return
        self._superseded(records)

        def op(connection: Connection, now: datetime) -> None:
            self._apply(connection, records, now)

        await self._submit(op)

    def _apply(self, connection: Connection, records: Records, now: datetime) -> int | None:
        sqlite = self.db.is_sqlite
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
            if step.status == "succeeded":
                values["error"] = None
            if step.finished:  # the worker may have written the moment already
                values["finished_at"] = _Unless(step.finished_at or now)
            values["record_seq"] = step.seq
            _update(connection, StepRun, values, sqlite=sqlite, pk=pk, name=step.step, seq=step.seq)
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
            _update(connection, Execution, values, sqlite=sqlite, pk=pk, seq=execution.seq)
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
        """The batched transitions, then this step ``running`` (and its execution); the step's
        record is at least as new as the task (made at ``seq``) from then on."""
        self._superseded(records)
        values: dict[str, Any] = {
            "status": "running",
            "attempt": attempt,
            "started_at": None,  # set to the transaction's time below
            "finished_at": None,
            "error": None,
            "log_key": log_key,
            "parameters": parameters,
            "inputs": inputs,
            "waiting_for": [],
            "record_seq": _AtLeast(seq),
        }

        def op(connection: Connection, now: datetime) -> None:
            pk = self._apply(connection, records, now)
            if pk is None:
                return
            running = {**values, "started_at": now}
            sqlite = self.db.is_sqlite
            _update(connection, StepRun, running, sqlite=sqlite, pk=pk, name=step)
            if pk not in self._started:  # the first step's record stamps the execution
                stamp = connection.execute(_EXECUTION_STARTED, {"w_pk": pk, "v_started_at": now})
                if stamp.rowcount == 0:  # stamped (and committed) before: no need any more
                    if len(self._started) > 10_000:
                        self._started.clear()
                    self._started.add(pk)

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
        """The outcome of the step's activity (its finishing moment kept if already written:
        a succeeded step's record may have come with the workflow's records first)."""
        values: dict[str, Any] = {"status": status, "error": error}
        if outputs is not None:
            values["outputs"] = outputs
        if metrics is not None:
            values["metrics"] = metrics

        def op(connection: Connection, now: datetime) -> None:
            pk = self._pk(connection, execution_id)
            if pk is None:
                return
            sqlite = self.db.is_sqlite
            final = dict(values)
            if status != "running":
                final["finished_at"] = _Unless(now)
            _update(connection, StepRun, final, sqlite=sqlite, pk=pk, name=step)

        await self._submit(op)

    def final_soon(
        self, execution_id: str, step: str, *, outputs: dict[str, Any], seq: int
    ) -> None:
        """A succeeded step's final record, written in a moment (``FINAL_DELAY_SECONDS``)
        unless records that hold it get there first: the workflow puts it in its next records
        (durably), which the next step's activity writes as it starts, usually within
        milliseconds. This write only keeps it from showing late when nothing else writes
        soon (the next step is queued, or other steps still run)."""
        key = (execution_id, step)
        self._forget(key)
        handle = asyncio.get_running_loop().call_later(FINAL_DELAY_SECONDS, self._final_now, key)
        self._soon[key] = _Soon(seq, outputs, handle)

    def _final_now(self, key: tuple[str, str]) -> None:
        soon = self._soon.pop(key, None)
        if soon is not None:
            later(self._final(key, soon))

    async def _final(self, key: tuple[str, str], soon: _Soon) -> None:
        execution_id, step = key
        await self.step_finished(execution_id, step, status="succeeded", outputs=soon.outputs)

    def _forget(self, key: tuple[str, str]) -> None:
        soon = self._soon.pop(key, None)
        if soon is not None:
            soon.handle.cancel()

    def _superseded(self, records: Records) -> None:
        """Final records still to be written that ``records`` (about to be) replace."""
        for step in records.steps:
            soon = self._soon.get((records.execution_id, step.step))
            if soon is not None and step.seq > soon.seq:
                self._forget((records.execution_id, step.step))

    async def settle(self) -> None:
        """Write the final records still waiting now (the worker stops)."""
        while self._soon:
            key, soon = self._soon.popitem()
            soon.handle.cancel()
            await self._final(key, soon)


@dataclass
class _Soon:
    seq: int
    outputs: dict[str, Any]
    handle: asyncio.TimerHandle


class _Unless:
    """A value for a column that is written only where the column is still empty."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _AtLeast:
    """A value for a column that only grows: the greater of it and what is there."""

    def __init__(self, value: Any) -> None:
        self.value = value


_EXECUTION_PK = select(col(Execution.id)).where(col(Execution.execution_id) == bindparam("w_id"))
_EXECUTION_STARTED = (
    update(Execution)
    .where(col(Execution.id) == bindparam("w_pk"), col(Execution.started_at).is_(None))
    .values(started_at=bindparam("v_started_at"))
)
_UPDATES: dict[tuple[Any, ...], Update] = {}


def _update(
    connection: Connection,
    table: type[StepRun] | type[Execution],
    values: dict[str, Any],
    *,
    sqlite: bool,
    pk: int,
    seq: int | None = None,
    name: str | None = None,
) -> None:
    """``UPDATE`` one step (``name``) or execution row with ``values``; with ``seq``, only
    where its record is older. The statement for each shape of update is built once: building
    and keying statements is most of a record's cost."""
    shape = (sqlite, table, seq is None, *((k, type(v)) for k, v in values.items()))
    statement = _UPDATES.get(shape)
    if statement is None:
        statement = _UPDATES[shape] = _statement(
            table, values, guarded=seq is not None, sqlite=sqlite
        )
    params = {
        f"v_{k}": v.value if isinstance(v, _Unless | _AtLeast) else v for k, v in values.items()
    }
    params["w_pk"] = pk
    if seq is not None:
        params["w_seq"] = seq
    if name is not None:
        params["w_name"] = name
    connection.execute(statement, params)


def _statement(
    table: type[StepRun] | type[Execution], values: dict[str, Any], *, guarded: bool, sqlite: bool
) -> Update:
    where = []
    if guarded:
        where.append(col(table.record_seq) < bindparam("w_seq"))
    if table is StepRun:
        where += [
            col(StepRun.execution_pk) == bindparam("w_pk"),
            col(StepRun.name) == bindparam("w_name"),
        ]
    else:
        where.append(col(Execution.id) == bindparam("w_pk"))
    columns = table.__table__.c  # type: ignore[union-attr]
    sets: dict[str, Any] = {}
    for key, value in values.items():
        bound = bindparam(f"v_{key}", type_=columns[key].type)
        if isinstance(value, _Unless):
            sets[key] = func.coalesce(columns[key], bound)
        elif isinstance(value, _AtLeast):  # SQLite's max() of two is greatest()
            sets[key] = (func.max if sqlite else func.greatest)(columns[key], bound)
        else:
            sets[key] = bound
    return update(table).where(*where).values(sets)


def _sqlite_engine(url: str) -> Engine:
    """A synchronous engine tuned like the app's; every transaction it begins is a write."""
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    tune_sqlite(engine)
    return engine.execution_options(**{WRITE_OPTION: True})
