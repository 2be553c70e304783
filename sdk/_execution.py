"""Handles on what runs on a Gallery server: a runtime workflow of a workspace
(``wf.Session().workflow(name)`` → :class:`WorkflowHandle`) and its runs (:class:`Execution`).

A handle keeps the session it was read with and shows the server's answer as of its last read:
``refresh()`` reads it again (one request). Methods that change a run (continue, retry, stop)
return once the runner has taken the change up, so a ``wait()`` after them sees its effect.
Values for placeholders go to the server as given (it validates them); text given for a
placeholder whose values are not text is read the way ``gallery run -p NAME=VALUE`` reads it.
"""

from __future__ import annotations

import codecs
import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sdk import spec as ir
from sdk._errors import ApiError, ConfigurationError
from sdk._refs import execution_label
from sdk._runs import (
    EXECUTION_ENDS,
    STEP_ENDS,
    Emit,
    find_step,
    first_line,
    follow,
    headline,
    output_path,
    parse_value,
    placeholders_of,
    read_execution,
    save,
    start_execution,
    step_note,
    unpack,
    wait_until,
)
from sdk._session import Session
from sdk.vocabulary import ExecutionStatus

SETTLED = ("succeeded", "failed", "stopped", "waiting_input", "paused")
"""Where ``wait()`` returns by default: the run ended, needs someone's input, or (a debug
run) waits between steps."""
WAIT_INTERVAL = 0.25
"""Seconds between two reads while waiting (the server's event stream looks as often)."""
ACTION_WAIT_SECONDS = 30.0
"""How long continue and retry wait for the runner to take the step up."""
STOP_WAIT_SECONDS = 60.0
FOLLOW_NOTE = "interrupt to stop watching; the run goes on"


def _print(line: str) -> None:
    print(line, flush=True)


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""``configure(scene=KEEP)``: leave the saved scene as it is."""


def typed_values(
    values: dict[str, Any], placeholders: dict[str, ir.PlaceholderSpec], where: str
) -> dict[str, Any]:
    """The values to send: text given for a placeholder that takes no text is read as
    ``NAME=VALUE`` text is (``"0.5"`` → 0.5, ``"no"`` → False); everything else as it is (the
    server checks it). ConfigurationError names the placeholder whose text does not fit."""
    sent: dict[str, Any] = {}
    for name, value in values.items():
        placeholder = placeholders.get(name)
        if (
            isinstance(value, str)
            and placeholder is not None
            and ir.value_matches(placeholder, value) is not None
        ):
            try:
                value = parse_value(placeholder, value)
            except ValueError as exc:
                raise ConfigurationError(f"{where}: {exc}") from None
        sent[name] = value
    return sent


def _waiting_placeholder(item: dict[str, Any]) -> ir.PlaceholderSpec:
    """A placeholder a waiting step asks for, as the execution describes it."""
    return ir.PlaceholderSpec(
        name=item["name"], type=item["type"], enum_list=item.get("enum_list"), delay=True
    )


def _statuses(until: str | Iterable[str]) -> tuple[str, ...]:
    wanted = (until,) if isinstance(until, str) else tuple(until)
    unknown = [s for s in wanted if s not in tuple(ExecutionStatus)]
    if unknown or not wanted:
        raise ConfigurationError(
            f"wait(until={until!r}): give execution statuses, from {', '.join(ExecutionStatus)}"
        )
    return wanted


# --- executions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionStep:
    """One step of an execution, as the server last described it."""

    name: str
    type: str
    status: str
    attempt: int
    """Which attempt the status is of (0 before the first)."""
    duration_seconds: float | None
    error: str | None
    waiting_for: tuple[str, ...]
    """The delayed placeholders the step waits for (``continue_step`` gives them)."""
    parameters: dict[str, Any] = field(repr=False)
    outputs: dict[str, Any] = field(repr=False)
    """Output name → where the step wrote it (or a condition's result)."""
    metrics: dict[str, Any] = field(repr=False)
    """Output name → the metric entries the step reported, as written."""
    data: dict[str, Any] = field(repr=False, compare=False)
    """The step's whole JSON (times, inputs …)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionStep:
        return cls(
            name=str(data["name"]),
            type=str(data.get("type", "")),
            status=str(data["status"]),
            attempt=int(data.get("attempt") or 0),
            duration_seconds=data.get("duration_seconds"),
            error=data.get("error"),
            waiting_for=tuple(str(i["name"]) for i in data.get("waiting_for") or []),
            parameters=dict(data.get("parameters") or {}),
            outputs=dict(data.get("outputs") or {}),
            metrics=dict(data.get("metrics") or {}),
            data=data,
        )


def _float_metrics(step: dict[str, Any]) -> dict[str, float]:
    """The ``float`` metrics a step reported: key → value (charts and tables are in
    ``ExecutionStep.metrics``)."""
    found = {}
    for entries in (step.get("metrics") or {}).values():
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("type") != "float":
                continue
            value = (entry.get("data") or {}).get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[str(entry["key"])] = float(value)
    return found


class Execution:
    """One run of a runtime workflow, kept with the session it was read with.

    ``id``, ``name`` (``execution-001``), ``status``, ``workflow_id``, ``workflow_name``,
    ``workspace``, ``steps`` and ``data`` (the whole JSON) are the server's answer as of the last
    read; ``refresh()`` reads it again, ``wait()`` until it ends or needs input."""

    def __init__(self, session: Session, data: dict[str, Any]) -> None:
        self.session = session
        self._data = dict(data)

    @classmethod
    def from_json(cls, data: dict[str, Any], session: Session | None = None) -> Execution:
        """A handle on the execution this JSON describes (by default with a session from the
        environment or the credentials file)."""
        return cls(session if session is not None else Session(), data)

    # what the server said

    @property
    def id(self) -> str:
        return str(self._data["id"])

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def status(self) -> str:
        return str(self._data["status"])

    @property
    def workflow_id(self) -> str:
        return str(self._data["workflow_id"])

    @property
    def workflow_name(self) -> str:
        return str(self._data["workflow_name"])

    @property
    def workspace(self) -> str:
        return str(self._data["workspace"])

    @property
    def label(self) -> str:
        """The name to show and paste back: ``WORKFLOW/execution-001`` (with the workspace
        first outside ``default``)."""
        return execution_label(self._data)

    @property
    def data(self) -> dict[str, Any]:
        """The whole execution JSON (steps, parameters, labels, times …)."""
        return self._full()

    @property
    def steps(self) -> list[ExecutionStep]:
        return [ExecutionStep.from_json(s) for s in self._full()["steps"]]

    @property
    def parameters(self) -> dict[str, Any]:
        """The placeholder values of this run (defaults, saved ones and the run's own)."""
        return dict(self._full().get("parameters") or {})

    @property
    def labels(self) -> list[str]:
        return list(self._data.get("labels") or [])

    @property
    def error(self) -> str | None:
        return self._full().get("error")

    def _full(self) -> dict[str, Any]:
        if "steps" not in self._data:  # a summary from a list: read the whole execution once
            self.refresh()
        return self._data

    def step(self, name: str) -> ExecutionStep:
        """One step; ConfigurationError names the steps there are."""
        return ExecutionStep.from_json(self._step(name))

    def _step(self, name: str) -> dict[str, Any]:
        return find_step(self._full(), name)

    def __repr__(self) -> str:
        return f"Execution({self.label!r}, status={self.status!r}, id={self.id!r})"

    # reading again

    def refresh(self) -> Execution:
        """Read the execution again (one request)."""
        self._data = read_execution(self.session, self.id)
        return self

    def wait(
        self,
        timeout: float | None = None,
        until: str | Iterable[str] = SETTLED,
        *,
        interval: float = WAIT_INTERVAL,
    ) -> str:
        """Read the execution until its status is one of ``until`` (by default: it ended, waits
        for input, or is paused between steps) or the run ended; its status. TimeoutError
        after ``timeout`` seconds names the execution and the status it is in."""
        wanted = _statuses(until)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.refresh()
            if self.status in wanted or self.status in EXECUTION_ENDS:
                return self.status
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(
                    f"{self.label} is still {self.status} after {timeout:g}s "
                    f"(waited for {', '.join(wanted)})"
                )
            time.sleep(interval if left is None else min(interval, left))

    def follow(self, emit: Emit = _print) -> str:
        """Show the run's progress, one line per change of a step, until it ends or waits
        for input, then what to do next; its status. Lines go to ``emit`` (default: print),
        plain text, so a notebook shows them as a terminal does."""
        self._data = follow(self.session, self.id, emit, note=FOLLOW_NOTE)
        emit(headline(self._data))
        for line in self.hints():
            emit(line)
        return self.status

    def hints(self) -> list[str]:
        """What the run needs next, as calls on this handle: input for waiting steps, a retry
        for failed or stopped ones (and the next step of a paused debug run)."""
        lines = []
        ended = self.status in ("failed", "stopped")
        for step in self._full()["steps"]:
            name = step["name"]
            if step["status"] == "waiting_input":
                values = ", ".join(f"{i['name']}=..." for i in step.get("waiting_for") or [])
                lines.append(f"step {name!r} {step_note(step)}: .continue_step({name!r}, {values})")
            elif step["status"] in ("failed", "stopped") and ended:
                error = first_line(step.get("error"))
                lines.append(f"step {name!r} {step['status']}" + (f": {error}" if error else ""))
                lines.append(f"  to run it again: .retry_step({name!r}, parameters={{...}})")
        if self.status == "failed" and not lines and self.error:
            lines.append(f"execution failed: {first_line(self.error)}")
        if self.status == "paused":
            lines.append("a debug run between steps: the workflow's next() starts the next one")
        return lines

    # changing the run

    def continue_step(
        self, step: str, values: dict[str, Any] | None = None, /, **inputs: Any
    ) -> Execution:
        """Give a step that waits for input the values of its delayed placeholders (as a dict,
        as keywords, or both), and wait until the runner has taken it up. A step that is not
        waiting, or a value that does not fit, is refused (ApiError 409 / 422)."""
        before = self.refresh()._step(step)
        asked = {i["name"]: _waiting_placeholder(i) for i in before.get("waiting_for") or []}
        sent = typed_values({**(values or {}), **inputs}, asked, f"{self.label}, step {step!r}")
        self.session.post(self._step_path(step, "continue"), json={"inputs": sent})
        return self._taken_up(step, before, "continued")

    def retry_step(self, step: str, parameters: dict[str, Any] | None = None) -> Execution:
        """Run a failed or stopped step again, with these placeholder values changed from now
        on, and wait until the runner has taken it up. Refused (ApiError 409) when the step
        did not fail or stop."""
        before = self.refresh()._step(step)
        given = dict(parameters or {})
        known: dict[str, ir.PlaceholderSpec] = {}
        if any(isinstance(v, str) for v in given.values()):
            known = placeholders_of(self.session.get(f"/workflows/{self.workflow_id}"))
        sent = typed_values(given, known, f"{self.label}, step {step!r}")
        self.session.post(self._step_path(step, "retry"), json={"parameters": sent})
        return self._taken_up(step, before, "retried")

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> Execution:
        """Stop every running step and end the run as ``stopped``; waits until it is."""
        self.session.post(f"/executions/{self.id}/stop")
        self._data, stopped = wait_until(
            self.session, self.id, lambda e: e["status"] == "stopped", timeout=timeout
        )
        if not stopped:
            raise TimeoutError(
                f"asked to stop {self.label}, but it is {self.status} after {timeout:g}s"
            )
        return self

    def stop_step(self, step: str, timeout: float = STOP_WAIT_SECONDS) -> Execution:
        """Stop one step (it can be retried later); waits until it is."""
        self._step(step)

        def done(execution: dict[str, Any]) -> bool:
            if find_step(execution, step)["status"] not in STEP_ENDS:
                return False
            others = [s for s in execution["steps"] if s["status"] == "running"]
            return bool(others) or execution["status"] != "running"

        self.session.post(self._step_path(step, "stop"))
        self._data, stopped = wait_until(self.session, self.id, done, timeout=timeout)
        if not stopped:
            state = find_step(self._data, step)["status"]
            raise TimeoutError(
                f"asked to stop step {step!r} of {self.label}, but it is {state} after {timeout:g}s"
            )
        return self

    def rerun(self) -> Execution:
        """A new run of the same workflow with this run's placeholder values and scene."""
        return Execution(self.session, self.session.post(f"/executions/{self.id}/rerun"))

    def _step_path(self, step: str, action: str) -> str:
        return f"/executions/{self.id}/steps/{quote(step, safe='')}/{action}"

    def _taken_up(self, step: str, before: dict[str, Any], verb: str) -> Execution:
        def moved(execution: dict[str, Any]) -> bool:
            now = find_step(execution, step)
            return any(now[key] != before[key] for key in ("status", "attempt", "started_at"))

        self._data, taken = wait_until(
            self.session, self.id, moved, timeout=ACTION_WAIT_SECONDS, interval=0.1
        )
        if not taken:
            raise TimeoutError(
                f"{verb} step {step!r} of {self.label}, but the runner has not taken it up "
                f"after {ACTION_WAIT_SECONDS:g}s (is a worker running?)"
            )
        return self

    # results

    def outputs(self, step: str | None = None) -> dict[str, Any]:
        """Where the step wrote each output (output → path, or a condition's result), as of
        the last read; without a step, every step's: step → {output → value}."""
        if step is not None:
            return dict(self._step(step).get("outputs") or {})
        return {s["name"]: dict(s["outputs"]) for s in self._full()["steps"] if s.get("outputs")}

    def metrics(self, step: str | None = None) -> dict[str, float]:
        """The ``float`` metrics the step reported (key → value), as of the last read;
        without a step, every step's as ``step.key``."""
        if step is not None:
            return _float_metrics(self._step(step))
        return {
            f"{s['name']}.{key}": value
            for s in self._full()["steps"]
            for key, value in _float_metrics(s).items()
        }

    def logs(self, step: str, attempt: int | None = None) -> str:
        """What the step printed, so far (default: its latest attempt)."""
        self._step(step)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parts, offset = [], 0
        while True:
            params: dict[str, Any] = {"offset": offset}
            if attempt is not None:
                params["attempt"] = attempt
            answer = self.session.response("GET", self._step_path(step, "logs"), params=params)
            offset += len(answer.content)
            parts.append(decoder.decode(answer.content))
            if not answer.content or offset >= int(answer.headers.get("X-Log-Size", offset)):
                break
        parts.append(decoder.decode(b"", final=True))
        return "".join(parts)

    def download(self, step: str, output: str = "", to: str | Path = ".") -> Path:
        """Save a step's outputs under ``to`` as ``OUTPUT/...``: all of them, one output
        (``output="model"``), or a file or folder inside one (``"model/weights.bin"``); the
        file or folder saved."""
        self._step(step)
        wanted = output_path(output)
        target = Path(to)
        path = self._step_path(step, "outputs") + ("/" + quote(wanted, safe="/") if wanted else "")
        with self.session.stream(path) as answer:
            if answer.headers.get("X-Output-Kind") == "file":
                saved = target.joinpath(*wanted.split("/"))
                save(answer, saved)
                return saved
            target.mkdir(parents=True, exist_ok=True)
            unpack(answer, target)
        return target.joinpath(*wanted.split("/")) if wanted else target

    def workflow(self) -> WorkflowHandle:
        """The runtime workflow this is a run of."""
        return WorkflowHandle(self.session, self.session.get(f"/workflows/{self.workflow_id}"))


# --- runtime workflows ------------------------------------------------------------------------


class WorkflowHandle:
    """A runtime workflow of a workspace, as the server has it (``wf.Session().workflow(name)``):
    start it, list its runs, change its saved configuration. Nothing is released again."""

    def __init__(self, session: Session, data: dict[str, Any]) -> None:
        self.session = session
        self._data = dict(data)
        self._spec: ir.WorkflowSpec | None = None

    @property
    def id(self) -> str:
        return str(self._data["id"])

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def workspace(self) -> str:
        return str(self._data["workspace"])

    @property
    def status(self) -> str | None:
        """The status of its latest execution (None before the first)."""
        status = self._data.get("status")
        return None if status is None else str(status)

    @property
    def tags(self) -> list[str]:
        return list(self._data.get("tags") or [])

    @property
    def config(self) -> dict[str, Any]:
        """The saved run settings: ``placeholders`` (values), ``storages`` (roots), ``scene``."""
        return dict(self._data.get("config") or {})

    @property
    def data(self) -> dict[str, Any]:
        """The whole workflow JSON."""
        return self._data

    @property
    def spec(self) -> ir.WorkflowSpec:
        """The compiled workflow it runs."""
        if self._spec is None:
            try:
                self._spec = ir.WorkflowSpec.model_validate(self._data.get("spec") or {})
            except ValueError as exc:
                raise ConfigurationError(
                    f"workflow {self.workspace}/{self.name}: the server's spec cannot be read "
                    f"by this SDK ({first_line(str(exc))}); update the SDK"
                ) from None
        return self._spec

    @property
    def placeholders(self) -> dict[str, ir.PlaceholderSpec]:
        """Its placeholders by name (type, default, enum_list, delay …)."""
        return placeholders_of(self._data)

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workspace + '/' + self.name!r}, id={self.id!r})"

    def refresh(self) -> WorkflowHandle:
        """Read the workflow again (one request)."""
        self._data = dict(self.session.get(f"/workflows/{self.id}"))
        self._spec = None
        return self

    def _where(self, verb: str) -> Callable[[ApiError], ApiError]:
        def wrap(exc: ApiError) -> ApiError:
            where = f"{verb} workflow {self.workspace}/{self.name}"
            return ApiError(exc.status, f"{where}: {exc.detail}", exc.errors)

        return wrap

    def start(
        self,
        parameters: dict[str, Any] | None = None,
        scene: str | None = None,
        labels: Iterable[str] | None = None,
    ) -> Execution:
        """Start a run with the saved configuration and these placeholder values on top, only
        ``scene``'s steps if given, with these labels. Refused (ApiError naming the workflow):
        422 for a value that does not fit, 409 while another run of it is open."""
        sent = typed_values(
            dict(parameters or {}), self.placeholders, f"workflow {self.workspace}/{self.name}"
        )
        try:
            started = start_execution(self.session, self.id, sent, scene, labels=labels)
        except ApiError as exc:
            raise self._where("starting")(exc) from None
        return Execution(self.session, started)

    def executions(self, status: str | None = None, label: str | None = None) -> list[Execution]:
        """Its runs, newest first, only those in ``status`` or with ``label`` if given."""
        params = {k: v for k, v in (("status", status), ("label", label)) if v is not None}
        rows = self.session.get(f"/workflows/{self.id}/executions", params=params)
        return [Execution(self.session, row) for row in rows]

    def configure(
        self,
        parameters: dict[str, Any] | None = None,
        storages: dict[str, str] | None = None,
        scene: str | _Keep | None = KEEP,
        unset: Iterable[str] = (),
    ) -> WorkflowHandle:
        """Save run settings: placeholder values, storage roots (``/BUCKET/DIR/`` in the
        workspace's directory) and the scene (None: every step); the others stay as saved.
        ``unset`` forgets saved values. Refused values raise ApiError 422 and save nothing."""
        current = self.config
        values = dict(current.get("placeholders") or {})
        roots = dict(current.get("storages") or {})
        known = set(self.placeholders) | {s.name for s in self.spec.storages}
        for name in unset:
            if name not in known:
                raise ConfigurationError(
                    f"workflow {self.workspace}/{self.name} has no placeholder or storage "
                    f"{name!r} to unset ({', '.join(sorted(known)) or 'none'})"
                )
            values.pop(name, None)
            roots.pop(name, None)
        where = f"workflow {self.workspace}/{self.name}"
        values.update(typed_values(dict(parameters or {}), self.placeholders, where))
        roots.update(storages or {})
        body = {
            "placeholders": values,
            "storages": roots,
            "scene": current.get("scene") if scene is KEEP else scene,
        }
        try:
            saved = self.session.request("PUT", f"/workflows/{self.id}/config", json=body)
        except ApiError as exc:
            raise self._where("configuring")(exc) from None
        self._data = dict(saved)
        self._spec = None
        return self
