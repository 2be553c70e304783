"""``ExecutionWorkflow``: a deterministic walk of one workflow's DAG on Temporal.

The rules (what is ready, skipped, selected; scenes) live in :mod:`runner.dag` and are pure;
this class holds the state, starts one activity per running step, evaluates condition steps
itself, and answers *continue*, *retry* and *stop* (Updates with validators, and a signal).

State changes the workflow decides (skipped, waiting, failed, the execution's status) are
batched into the next step activity, or written by one local activity when nothing else runs
(DESIGN.md §4), so the hot path pays no extra round trip for records.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutError,
    TimeoutType,
)

with workflow.unsafe.imports_passed_through():
    from pydantic import TypeAdapter

    from runner import dag
    from runner.messages import (
        ExecutionRecord,
        InputValue,
        Records,
        StepRecord,
        StepResult,
        StepTask,
    )
    from sdk import spec as ir

HEARTBEAT_TIMEOUT = timedelta(seconds=5)
RECORD_TIMEOUT = timedelta(seconds=30)
# A step whose worker died is started again this many times beyond its own retry policy.
LOST_WORKER_RERUNS = 3
TERMINAL = frozenset({"succeeded", "skipped", "failed", "stopped"})
ASSET_STEPS = frozenset(
    {"model", "create_dataset", "release_dataset", "dataset_import", "labeling"}
)
"""Steps whose outputs are asset versions they published (``CONTENT_ID@VERSION``; a
labeling step's ``label_task`` output is the dataset version of its labels)."""


def default_root(namespace: str, workflow_id: str, storage: str) -> str:
    """Where a storage lives when the workflow's configuration gives it no root."""
    return f"{namespace}{workflow_id}/{storage}/"


@workflow.defn(name=ir.EXECUTION_WORKFLOW, sandboxed=False)
class ExecutionWorkflow:
    @workflow.init
    def __init__(self, data: ir.ExecutionInput) -> None:
        self.data = data
        self.spec = data.spec
        self.selected = [n for n in ir.topological_order(data.spec) if n in set(data.steps)]
        self.chosen = frozenset(self.selected)
        self._formats = {p.name: p.format for p in data.spec.placeholders}
        self.gated = data.gated
        self.released: set[str] = set()
        """Debug mode: the steps a *next* let through the gate."""
        self.graph = dag.waits_for(data.spec)  # the spec never changes: worked out once
        self.params: dict[str, Any] = dict(data.parameters)
        self.provided: set[str] = set()
        self.statuses: dict[str, str] = {}
        for step in data.spec.steps:
            if step.name in self.selected:
                self.statuses[step.name] = "pending"
            else:  # outside a scene: it ran before (its outputs are inherited) or it did not
                ran = step.name in data.entry_outputs or step.name in data.entry_metrics
                self.statuses[step.name] = "succeeded" if ran else "skipped"
        self.outputs: dict[str, dict[str, str]] = {
            k: dict(v) for k, v in data.entry_outputs.items()
        }
        self.metrics: dict[str, dict[str, dict[str, float]]] = {
            k: {o: dict(m) for o, m in v.items()} for k, v in data.entry_metrics.items()
        }
        self.errors: dict[str, str] = {}
        self.attempt_base: dict[str, int] = {}
        self.branch_skipped: set[str] = set()
        self.waited: set[str] = set()
        """Steps whose executor said "wait for people" (labeling): they run again to finish."""
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.handles: dict[str, workflow.ActivityHandle[Any]] = {}
        self.stopping = False
        self.dirty = False
        self.recorded_status = "created"
        self.step_records: list[StepRecord] = []
        self.execution_records: list[ExecutionRecord] = []
        self.seq = 0

    # --- the walk -----------------------------------------------------------------------

    @workflow.run
    async def run(self, data: ir.ExecutionInput) -> dict[str, Any]:
        try:
            while True:
                self._schedule()
                status = self._status()
                if self.stopping or status == "succeeded":
                    break
                self._note_status(status)
                if self.tasks:
                    await workflow.wait_condition(lambda: self.dirty)
                else:
                    # Nothing runs: failed, stopped or waiting for input. Stay open for a
                    # manual continue / retry / stop, up to the configured time.
                    await self._flush()
                    try:
                        await workflow.wait_condition(
                            lambda: self.dirty, timeout=timedelta(seconds=data.open_seconds)
                        )
                    except builtins.TimeoutError:
                        self._expire()
                        break
                self.dirty = False
        except asyncio.CancelledError:  # cancelled through Temporal: the same as a stop
            self.stopping = True
        if self.stopping:
            await self._stop_all()
        final = "stopped" if self.stopping else self._status()
        if final in ("running", "created"):
            final = "failed"
        self._note_status(final, finished=True)
        await self._flush()
        return {"status": final, "steps": {n: self.statuses[n] for n in self.selected}}

    def _halted(self) -> bool:
        """After a failure (or a stopped step) no new step starts until a retry."""
        return any(self.statuses[n] in ("failed", "stopped") for n in self.selected)

    def _schedule(self) -> None:
        progress = True
        while progress and not self.stopping:
            progress = False
            if self._halted():
                return
            for name in dag.ready_steps(self.spec, self.statuses, self.selected, graph=self.graph):
                step = self.spec.step(name)
                resolve = self._resolver(name)
                try:
                    decision = dag.decide(
                        self.spec,
                        name,
                        self.statuses,
                        resolve,
                        frozenset(self.branch_skipped),
                        graph=self.graph,
                        selected=self.chosen,
                    )
                except dag.DagError as exc:
                    self._set(name, "failed", error=str(exc), finished=True)
                    return
                if decision == "skip":
                    self._set(name, "skipped", finished=True)
                    progress = True
                    continue
                if step.type == "condition":
                    if not self._evaluate_condition(step, resolve):
                        return
                    progress = True
                    continue
                if self.gated and name not in self.released:
                    continue  # held at the gate until a *next* lets it start
                missing = [
                    p for p in ir.delayed_placeholders(self.spec, step) if p not in self.provided
                ]
                if missing:
                    self._set(name, "waiting_input", waiting_for=missing)
                    continue
                try:
                    task = self._task(step, resolve)
                except dag.DagError as exc:
                    self._set(name, "failed", error=str(exc), finished=True)
                    return
                self.statuses[name] = "running"
                self.tasks[name] = asyncio.create_task(self._run_step(name, task))

    def _evaluate_condition(self, step: ir.StepSpec, resolve: dag.Resolver) -> bool:
        props = step.typed_properties()
        try:
            result = dag.all_hold(props.conditions, resolve)
        except dag.DagError as exc:
            self._set(step.name, "failed", error=f"step {step.name!r}: {exc}", finished=True)
            return False
        self.branch_skipped |= dag.branch_skips(step, result)
        self._set(step.name, "succeeded", outputs={"result": result}, finished=True)
        return True

    def _status(self) -> str:
        statuses = [self.statuses[n] for n in self.selected]
        if all(s in dag.DONE for s in statuses):
            return "succeeded"
        if self.tasks:
            return "running"
        if "failed" in statuses:
            return "failed"
        if "waiting_input" in statuses:
            return "waiting_input"
        if "stopped" in statuses:
            return "stopped"
        if self.gated and self._held():
            return "paused"
        return "running"

    def _held(self) -> list[str]:
        """Debug mode: the steps ready to start, held at the gate (in DAG order)."""
        if not self.gated or self._halted():
            return []
        return [
            n
            for n in dag.ready_steps(self.spec, self.statuses, self.selected, graph=self.graph)
            if n not in self.released
        ]

    def _expire(self) -> None:
        """The open window ended: steps still waiting are stopped."""
        for name in self.selected:
            if self.statuses[name] == "waiting_input":
                self._set(name, "stopped", error="no input arrived in time", finished=True)
            elif self.gated and self.statuses[name] == "pending":
                self._set(name, "stopped", error="no next() came in time", finished=True)

    async def _stop_all(self) -> None:
        for handle in self.handles.values():
            handle.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for name in self.selected:
            if self.statuses[name] in ("pending", "waiting_input", "running"):
                self._set(name, "stopped", finished=True)

    # --- one step ---------------------------------------------------------------------

    async def _run_step(self, name: str, task: StepTask) -> None:
        step = self.spec.step(name)
        retry = step.policy.retry
        policy = RetryPolicy(
            maximum_attempts=retry.max_attempts,
            initial_interval=timedelta(seconds=retry.initial_interval_seconds),
            backoff_coefficient=retry.backoff_coefficient,
            maximum_interval=timedelta(seconds=retry.max_interval_seconds),
        )
        lost = 0
        try:
            while True:
                handle = workflow.start_activity(
                    "run_step",
                    task,
                    result_type=StepResult,
                    task_queue=self._queue(step),
                    start_to_close_timeout=timedelta(seconds=task.timeout_seconds + 60),
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=policy,
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
                self.handles[name] = handle
                try:
                    result: StepResult = await handle
                except ActivityError as err:
                    cause = err.cause
                    if (
                        isinstance(cause, TimeoutError)
                        and cause.type == TimeoutType.HEARTBEAT
                        and lost < LOST_WORKER_RERUNS
                        and not self.stopping
                        and self.statuses[name] == "running"
                    ):
                        # The worker running it went away: run it again (at least once).
                        lost += 1
                        # Its records go again: the lost attempt may not have written them.
                        task = task.model_copy(
                            update={"attempt_base": task.attempt_base + retry.max_attempts}
                        )
                        continue
                    self._requeue(task.records)
                    if isinstance(cause, CancelledError) or self.statuses[name] == "stopped":
                        self._set(name, "stopped", finished=True)
                    else:
                        self._set(name, "failed", error=_message(err), finished=True)
                    return
                except asyncio.CancelledError:
                    self._requeue(task.records)
                    self._set(name, "stopped", finished=True)
                    return
                if result.waiting:  # waits for people; its continue runs it to finish
                    self.waited.add(name)
                    self._set(name, "waiting_input", waiting_for=result.waiting)
                    return
                self.outputs[name] = result.outputs
                self.metrics[name] = result.metrics
                if result.recorded:
                    self.statuses[name] = "succeeded"
                else:  # written with the next records, which the next activity carries
                    self._set(
                        name,
                        "succeeded",
                        outputs=result.outputs,
                        finished=True,
                        finished_at=workflow.now(),
                    )
                return
        finally:
            self.attempt_base[name] = task.attempt_base + retry.max_attempts
            self.tasks.pop(name, None)
            self.handles.pop(name, None)
            self.dirty = True

    def _flavor(self, step: ir.StepSpec) -> str | None:
        if step.type == "job":
            flavor = step.typed_properties().resource.flavor
            if flavor is not None:
                return ir.flavor_name(self._resolver(step.name)(flavor))
        return None

    def _queue(self, step: ir.StepSpec) -> str:
        flavor = self._flavor(step)
        if flavor is not None and flavor in self.data.flavor_queues:
            return self.data.flavor_queues[flavor]
        return self.data.task_queue

    def _task(self, step: ir.StepSpec, resolve: dag.Resolver) -> StepTask:
        parameters: dict[str, Any] = {}
        inputs: dict[str, InputValue] = {}
        if step.type == "job":
            props = step.typed_properties()
            nodes = resolve(props.resource.node_count)
            if nodes not in (None, 1):
                raise dag.DagError(
                    f"step {step.name!r}: node_count {nodes!r}: a step runs on one node here "
                    "(no distributed jobs)"
                )
            for parameter in props.algorithm.parameters:
                value = resolve(parameter.value)
                if value is not None:
                    parameters[parameter.name] = value
        for item in step.inputs:
            inputs[item.name] = self._input(item.data, resolve)
        outputs = {}
        for out in step.outputs:
            if out.path is not None:
                path = str(resolve(out.path))
            else:
                path = (
                    f"{self.data.namespace}{self.data.workflow_id}/{self.data.execution_id}/"
                    f"{step.name}/"
                )
                path += f"{out.name}/"
            outputs[out.name] = path if path.endswith("/") else path + "/"
        settings: dict[str, Any] = {}
        if step.type in ASSET_STEPS:
            settings = {o.name: _resolved(o.config, resolve) for o in step.outputs}
            settings["properties"] = _resolved(step.properties, resolve)
            settings["lineage"] = self._lineage(step)
        if self.recorded_status == "created":
            self._note_status("running")  # written with the first step's own record
        return StepTask(
            settings=settings,
            execution_id=self.data.execution_id,
            workflow_id=self.data.workflow_id,
            step=step,
            parameters=parameters,
            inputs=inputs,
            outputs=outputs,
            flavor=self._flavor(step),
            attempt_base=self.attempt_base.get(step.name, 0),
            max_attempts=step.policy.retry.max_attempts,
            timeout_seconds=step.policy.max_execution_minutes * 60,
            records=self._take_records(),
            seq=self.seq,
            phase="finish" if step.name in self.waited else "start",
        )

    def _output_kind(self, ref: ir.OutputRef) -> str:
        """``model`` or ``dataset`` for an output that is an asset version a step registered
        (its value ``CONTENT_ID@VERSION``), else ``path``."""
        producer = self.spec.step(ref.step)
        for output in producer.outputs:
            if output.name == ref.output and producer.type in ASSET_STEPS:
                return "dataset" if output.kind == "label_task" else output.kind
        return "path"

    def _lineage(self, step: ir.StepSpec) -> dict[str, Any]:
        """Where a step's inputs come from: the producing step and output, the algorithm it
        ran, and the float metrics it reported (for a model's record)."""
        sources = []
        for item in step.inputs:
            ref = item.data
            if isinstance(ref, ir.SelectorRef):
                ref = dag.select(ref, self.statuses, step.name)
            if not isinstance(ref, ir.OutputRef):
                continue
            producer = self.spec.step(ref.step)
            algorithm = None
            if producer.type == "job":
                code = producer.typed_properties().algorithm
                algorithm = (
                    f"{code.content_id}@{code.version}"
                    if code.source == "gallery"
                    else f"workspace package {code.package}"
                    if code.source == "workspace"
                    else None
                )
            metrics = {
                f"{ref.step}.{key}": value
                for found in self.metrics.get(ref.step, {}).values()
                for key, value in found.items()
            }
            sources.append(
                {
                    "input": item.name,
                    "step": ref.step,
                    "output": ref.output,
                    "algorithm": algorithm,
                    "metrics": metrics,
                }
            )
        return {
            "execution_id": self.data.execution_id,
            "workflow_id": self.data.workflow_id,
            "workflow": self.spec.name,
            "step": step.name,
            "inputs": sources,
        }

    def _input(self, value: Any, resolve: dag.Resolver) -> InputValue:
        if isinstance(value, ir.DataValue) and value.kind == "gallery_model":
            found = value.value if isinstance(value.value, dict) else {}
            return InputValue(
                kind="model", value=f"{found.get('subscription_id')}@{found.get('version_num')}"
            )
        if isinstance(value, ir.DataValue) and value.kind in ("dataset", "label_task"):
            # a dataset by name, or a label task's dataset (its labelled version once done)
            return InputValue(kind="dataset", value=dict(value.value))
        if isinstance(value, ir.PlaceholderRef) and self._formats.get(value.name) == "dataset":
            chosen = resolve(value)  # a DatasetPlaceholder's {"dataset_name", "version_name"}
            if isinstance(chosen, dict):
                return InputValue(kind="dataset", value=dict(chosen))
        if isinstance(value, ir.OutputRef):
            kind = self._output_kind(value)
            if kind in ("model", "dataset"):
                return InputValue(kind=kind, value=resolve(value))
        resolved = resolve(value)
        is_path = isinstance(value, ir.OutputRef | ir.SelectorRef | ir.StoragePath) or (
            isinstance(value, ir.PlaceholderRef)
            and isinstance(resolved, str)
            and resolved.startswith("/")
        )
        if is_path:
            return InputValue(kind="path", path=str(resolved))
        return InputValue(kind="value", value=resolved)

    # --- values -------------------------------------------------------------------------

    def _resolver(self, consumer: str) -> Callable[[Any], Any]:
        def resolve(value: Any) -> Any:
            if isinstance(value, ir.LiteralValue):
                return value.value
            if isinstance(value, ir.PlaceholderRef):
                return self.params.get(value.name)
            if isinstance(value, ir.StoragePath):
                return self._storage_path(value)
            if isinstance(value, ir.OutputRef):
                return self._output_path(value, consumer)
            if isinstance(value, ir.SelectorRef):
                return self._output_path(dag.select(value, self.statuses, consumer), consumer)
            if isinstance(value, ir.OutputVariableRef):  # a service's address: its output
                return self._output_path(
                    ir.OutputRef(step=value.step, output=value.output), consumer
                )
            if isinstance(value, ir.MetricRef):
                found = self.metrics.get(value.step, {}).get(value.output, {})
                if value.key not in found:
                    raise dag.DagError(
                        f"step {value.step!r} reported no float metric {value.key!r} "
                        f"in its output {value.output!r}"
                    )
                return found[value.key]
            if isinstance(value, ir.DataValue):
                return value.value
            return value

        return resolve

    def _storage_path(self, value: ir.StoragePath) -> str:
        storage = next(s for s in self.spec.storages if s.name == value.storage)
        root = self.data.storages.get(value.storage) or default_root(
            self.data.namespace, self.data.workflow_id, value.storage
        )
        with_id = (
            value.with_execution_id
            if value.with_execution_id is not None
            else storage.with_execution_id
        )
        if with_id:
            root += f"{self.data.execution_id}/"
        return root + value.path.lstrip("/")

    def _output_path(self, ref: ir.OutputRef, consumer: str) -> str:
        found = self.outputs.get(ref.step, {}).get(ref.output)
        if found is None:
            raise dag.DagError(
                f"step {consumer!r}: output {ref.output!r} of step {ref.step!r} is not available"
            )
        return found

    # --- records ------------------------------------------------------------------------

    def _next_seq(self) -> int:
        """Record order: a record is applied only over older ones (retried activities may
        carry the same batch twice)."""
        self.seq += 1
        return self.seq

    def _set(self, name: str, status: str, **fields: Any) -> None:
        self.statuses[name] = status
        if fields.get("error"):
            self.errors[name] = fields["error"]
        self._record_step(name, status, **fields)

    def _record_step(self, name: str, status: str, **fields: Any) -> None:
        self.step_records.append(
            StepRecord(seq=self._next_seq(), step=name, status=status, **fields)
        )

    def _record_execution(self, **fields: Any) -> None:
        self.execution_records.append(ExecutionRecord(seq=self._next_seq(), **fields))

    def _note_status(self, status: str, *, finished: bool = False) -> None:
        if status != self.recorded_status or finished:
            error = None
            if status == "failed":
                failed = [n for n in self.selected if self.statuses[n] == "failed"]
                error = "; ".join(f"{n}: {self.errors.get(n, 'failed')}" for n in failed) or None
            self._record_execution(status=status, error=error, finished=finished)
            self.recorded_status = status

    def _take_records(self) -> Records:
        """The transitions not written yet, handed to whoever writes next."""
        records = Records(
            execution_id=self.data.execution_id,
            steps=self.step_records,
            execution=self.execution_records,
        )
        self.step_records, self.execution_records = [], []
        return records

    def _requeue(self, records: Records) -> None:
        """Records a task carried, written again with the next ones: its activity may have
        ended before writing them, or never started (stopped while it was queued). Writing a
        record twice changes nothing (``seq``)."""
        self.step_records[:0] = records.steps
        self.execution_records[:0] = records.execution

    async def _flush(self) -> None:
        records = self._take_records()
        if records.empty():
            return
        await workflow.execute_local_activity(
            "record", records, start_to_close_timeout=RECORD_TIMEOUT
        )

    # --- continue, retry, stop ------------------------------------------------------------

    async def _resume(self) -> None:
        """After continue or retry: the records say so before the caller hears back."""
        self._note_status("running")
        self.dirty = True
        await self._flush()

    @workflow.update(name=ir.UPDATE_CONTINUE)
    async def continue_step(self, data: ir.ContinueInput) -> dict[str, Any]:
        self.params.update(data.values)
        self.provided.update(data.values)
        self.statuses[data.step] = "pending"
        self._record_step(data.step, "pending", waiting_for=[])
        self._record_execution(parameters=dict(self.params))
        await self._resume()
        return {"step": data.step, "status": "pending"}

    @continue_step.validator
    def _check_continue(self, data: ir.ContinueInput) -> None:
        self._check_step(data.step, ("waiting_input",), "continued")
        step = self.spec.step(data.step)
        needed = ir.delayed_placeholders(self.spec, step)
        extra = sorted(set(data.values) - set(needed))
        if extra:
            raise ValueError(
                f"step {data.step!r} takes input for {', '.join(needed)}, not {', '.join(extra)}"
            )
        missing = [p for p in needed if p not in data.values and p not in self.provided]
        if missing:
            raise ValueError(f"step {data.step!r} needs a value for {', '.join(missing)}")
        _check_values(self.spec, data.values)

    @workflow.update(name=ir.UPDATE_RETRY)
    async def retry_step(self, data: ir.RetryInput) -> dict[str, Any]:
        if data.parameters:
            self.params.update(data.parameters)
            self._record_execution(parameters=dict(self.params))
        self.errors.pop(data.step, None)
        self.statuses[data.step] = "pending"
        self._record_step(data.step, "pending")
        await self._resume()
        return {"step": data.step, "status": "pending"}

    @retry_step.validator
    def _check_retry(self, data: ir.RetryInput) -> None:
        self._check_step(data.step, ("failed", "stopped"), "retried")
        _check_values(self.spec, data.parameters)

    @workflow.update(name=ir.UPDATE_NEXT)
    async def next_step(self, data: ir.NextInput) -> dict[str, Any]:
        name = data.step or self._held()[0]
        if data.values:
            self.params.update(data.values)
            self.provided.update(data.values)
            self._record_execution(parameters=dict(self.params))
        self.released.add(name)
        await self._resume()
        return {"step": name, "status": "pending"}

    @next_step.validator
    def _check_next(self, data: ir.NextInput) -> None:
        if not self.gated:
            raise ValueError("this execution is not a debug run: its steps start by themselves")
        if self.stopping:
            raise ValueError("the execution is stopping")
        _check_values(self.spec, data.values)
        held = self._held()
        if not held:
            raise ValueError(self._nothing_next())
        name = data.step or held[0]
        if name not in held:
            raise ValueError(
                f"step {name!r} is not ready to start (ready: {', '.join(held)})"
                if name in self.selected
                else f"this execution has no step {name!r} (steps: {', '.join(self.selected)})"
            )
        placeholders = {p.name: p for p in self.spec.placeholders}
        missing = [
            p
            for p in ir.step_placeholders(self.spec, self.spec.step(name))
            if placeholders[p].required
            and data.values.get(p) is None
            and (self.params.get(p) is None or (placeholders[p].delay and p not in self.provided))
        ]
        if missing:
            raise ValueError(
                f"step {name!r} needs a value for {', '.join(missing)}: set "
                f"{'them' if len(missing) > 1 else 'it'} (set_placeholder or set_data), then "
                "call next() again"
            )

    def _nothing_next(self) -> str:
        """Why no step can start now (debug mode)."""
        running = [n for n in self.selected if self.statuses[n] == "running"]
        if running:
            return (
                f"no step is ready yet: {', '.join(running)} "
                f"{'is' if len(running) == 1 else 'are'} still running"
            )
        broken = [n for n in self.selected if self.statuses[n] in ("failed", "stopped")]
        if broken:
            return (
                f"step {broken[0]!r} {self.statuses[broken[0]]}: retry it before going on "
                "(retry_step)"
            )
        return "every step has run: nothing is next"

    @workflow.update(name=ir.UPDATE_STOP_STEP)
    async def stop_step(self, data: ir.StopStepInput) -> dict[str, Any]:
        status = self.statuses[data.step]
        if status == "running":
            self.statuses[data.step] = "stopped"
            handle = self.handles.get(data.step)
            if handle is not None:
                handle.cancel()
        else:
            self._set(data.step, "stopped", finished=True)
        self.dirty = True
        return {"step": data.step, "status": "stopped"}

    @stop_step.validator
    def _check_stop_step(self, data: ir.StopStepInput) -> None:
        self._check_step(data.step, ("pending", "running", "waiting_input"), "stopped")

    @workflow.signal(name=ir.SIGNAL_STOP)
    def stop(self) -> None:
        self.stopping = True
        self.dirty = True

    @workflow.query(name=ir.QUERY_STATE)
    def state(self) -> dict[str, Any]:
        return {"status": self._status(), "steps": dict(self.statuses)}

    def _check_step(self, name: str, allowed: tuple[str, ...], verb: str) -> None:
        if self.stopping:
            raise ValueError("the execution is stopping")
        if name not in self.selected:
            known = ", ".join(self.selected)
            raise ValueError(f"this execution has no step {name!r} (steps: {known})")
        status = self.statuses[name]
        if status not in allowed:
            raise ValueError(
                f"step {name!r} is {status}; only a step that is {' or '.join(allowed)} "
                f"can be {verb}"
            )


_VALUE: TypeAdapter[Any] = TypeAdapter(ir.Value)


def _resolved(config: Any, resolve: dag.Resolver) -> Any:
    """Settings with each value expression (a placeholder, a literal …) replaced by its value."""
    if isinstance(config, dict):
        if "ref" in config:
            try:
                return resolve(_VALUE.validate_python(config))
            except ValueError:
                pass
        return {k: _resolved(v, resolve) for k, v in config.items()}
    if isinstance(config, list):
        return [_resolved(v, resolve) for v in config]
    return config


def _check_values(spec: ir.WorkflowSpec, values: dict[str, Any]) -> None:
    problems = ir.check_values(spec, values)
    if problems:
        raise ValueError("; ".join(f"placeholder {name!r}: {why}" for name, why in problems))


def _message(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    if isinstance(cause, TimeoutError):
        return f"timed out ({cause.type.name.lower() if cause.type else 'timeout'})"
    return str(cause or err)
