"""The activities behind ``ExecutionWorkflow``: run one step, and write batched records."""

from __future__ import annotations

import asyncio
import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from registry.blobs import BlobStore
from registry.db import Database
from registry.executions.models import log_key
from registry.settings import Settings
from runner.launch import Sandboxes
from runner.messages import Records, StepResult, StepTask
from runner.reads import Reads
from runner.records import Recorder
from runner.sandbox import Sandbox
from runner.steps import StepContext, StepFailure, executor_for
from runner.tenancy import Tenants, UnknownExecution

log = logging.getLogger("runner")
HEARTBEAT_SECONDS = 1.0


async def _heartbeat() -> None:
    """Every step heartbeats while it runs (fetching, unpacking, running, uploading), so a step
    on a dead worker is retried elsewhere within the heartbeat timeout."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        if activity.in_activity():
            activity.heartbeat()


class Activities:
    def __init__(
        self, db: Database, blobs: BlobStore, settings: Settings, *, spares: int = 0
    ) -> None:
        """``spares``: how many sandboxes of a kind to keep started ahead of steps
        (``runner.launch``; a worker keeps some, a test running one activity none)."""
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.recorder = Recorder(db)
        self.reads = Reads(db)
        self.tenants = Tenants(db, self.reads)
        self.sandbox = Sandbox.from_settings(settings)
        self.work_root = settings.ensure_data_dir() / "work"
        self.code_cache = settings.data_dir / "cache" / "code"
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.boxes = Sandboxes(self.sandbox, self.work_root, spares=spares)

    @activity.defn(name="run_step")
    async def run_step(self, task: StepTask) -> StepResult:
        info = activity.info()
        attempt = task.attempt_base + info.attempt
        step = task.step.name
        key = log_key(task.execution_id, step, attempt)
        # The step's own "running" record is written while the step gets going.
        started = asyncio.create_task(
            self.recorder.step_started(
                task.records,
                step,
                seq=task.seq,
                attempt=attempt,
                log_key=key if task.step.type != "condition" else None,
                parameters=task.parameters,
                inputs={k: v.path if v.kind == "path" else v.value for k, v in task.inputs.items()},
            )
        )
        beat = asyncio.create_task(_heartbeat())
        try:
            try:
                tenant = await self.tenants.of(task.execution_id)
            except UnknownExecution as exc:
                raise StepFailure(f"{exc}; the step does not run", non_retryable=True) from None
            ctx = StepContext(
                db=self.db,
                blobs=self.blobs,
                work_root=self.work_root,
                code_cache=self.code_cache,
                attempt=attempt,
                log_key=key,
                tenant=tenant,
                tenants=self.tenants,
                settings=self.settings,
                sandbox=self.sandbox,
                reads=self.reads,
                boxes=self.boxes,
            )
            outcome = await executor_for(task.step.type)(ctx, task)
        except StepFailure as exc:
            await started
            last = exc.non_retryable or info.attempt >= task.max_attempts
            await self.recorder.step_finished(
                task.execution_id,
                step,
                status="failed" if last else "running",
                error=exc.message if last else f"attempt {attempt} failed, retrying: {exc.message}",
                outputs=exc.outputs or None,  # an exported log
            )
            raise ApplicationError(
                exc.message, type="StepFailure", non_retryable=exc.non_retryable
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(started)
            await asyncio.shield(
                self.recorder.step_finished(task.execution_id, step, status="stopped")
            )
            raise
        except Exception:
            log.exception("step %s of %s failed in the runner", step, task.execution_id)
            await started
            raise
        finally:
            beat.cancel()
        await started
        if outcome.waiting:  # the workflow records it waiting (nothing final to write)
            return StepResult(waiting=outcome.waiting)
        if outcome.metrics:  # up to 1 MB: written here, never through the workflow's history
            await self.recorder.step_finished(
                task.execution_id,
                step,
                status="succeeded",
                outputs=outcome.outputs,
                metrics=outcome.metrics,
            )
            return StepResult(outputs=outcome.outputs, metrics=outcome.floats, recorded=True)
        # The workflow records the outcome with its next records (durably, and in the same
        # transaction as the next step's "running"); unless those come soon, it is written
        # from here as well.
        self.recorder.final_soon(task.execution_id, step, outputs=outcome.outputs, seq=task.seq)
        return StepResult(outputs=outcome.outputs, metrics=outcome.floats)

    async def stop(self) -> None:
        """Write what waits, stop the sandboxes started ahead, close the connections."""
        await self.recorder.settle()
        await self.boxes.close()
        self.close()

    def close(self) -> None:
        self.recorder.close()
        self.reads.close()

    @activity.defn(name="record")
    async def record(self, records: Records) -> None:
        await self.recorder.apply(records)
