"""Development mode (manual §5.8): ``workflow.run()``, ``debug()``, ``next()``,
``set_placeholder()`` and ``set_data()``, against a Gallery server.

A development run publishes nothing: the workflow's local code is uploaded to the workspace as
packages (by sha256, skipped when the workspace has them), and the compiled workflow becomes a
*development workflow* of the workspace, which runs them. Runs are ordinary executions (the
same runner, sandbox and isolation), recorded under an experiment when one is named. A debug
run holds each step until ``next()`` (a gate in the same Temporal workflow).

Values for placeholders come from ``set_placeholder``/``set_data``, then the defaults and the
workflow's saved configuration; a missing one is asked for with ``input()`` on a terminal, and
named (with the call that sets it) everywhere else, e.g. in a notebook.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk import spec as ir
from sdk._errors import ApiError, ConfigurationError
from sdk._execution import Execution
from sdk._packaging import pack
from sdk._runs import parse_value

if TYPE_CHECKING:
    from sdk._experiment import Experiment
    from sdk._session import Session
    from sdk._steps import Step

Emit = Callable[[str], None]
STEP_ENDS = ("succeeded", "failed", "skipped", "stopped")
RUN_ENDS = ("succeeded", "failed", "stopped")
POLL_SECONDS = 0.2


def interactive() -> bool:
    """A person at a terminal can answer ``input()`` (not a notebook kernel, not a pipe)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty() and "ipykernel" not in sys.modules
    except (AttributeError, ValueError):
        return False


def _step_names(steps: Step | str | Iterable[Step | str] | None) -> list[str] | None:
    if steps is None:
        return None
    items = [steps] if isinstance(steps, str) or not isinstance(steps, Iterable) else steps
    names = [item if isinstance(item, str) else item.name for item in items]
    if not names:
        raise ConfigurationError("steps=[] names no step: give None to run them all")
    return names


def _data_value(data: Any) -> Any:
    """The placeholder value a data object stands for (``set_data``)."""
    from sdk._data import ObjectPath, _Concrete

    if isinstance(data, _Concrete):
        return data.as_dict()
    if isinstance(data, ObjectPath):
        if isinstance(data.obs_path, str):
            return data.obs_path
        raise ConfigurationError(
            "set_data takes a concrete object (OBSPath with a path string, Dataset, LabelTask, "
            f"…), not {type(data.obs_path).__name__}"
        )
    if isinstance(data, str | dict):
        return data
    raise ConfigurationError(
        f"set_data takes a data object (wf.data.OBSPath, Dataset, LabelTask, ServiceData, "
        f"SWRImage, GalleryModel), not {type(data).__name__}"
    )


class Development:
    """The development-mode methods of :class:`sdk.Workflow` (a mixin)."""

    name: str
    session: Session | None

    if TYPE_CHECKING:

        def compile(self) -> ir.WorkflowSpec: ...

    # --- state kept on the workflow object ----------------------------------------------

    def _dev(self) -> dict[str, Any]:
        """Values set so far, the current development run and the session it uses."""
        state: dict[str, Any] = self.__dict__.setdefault(
            "_development", {"values": {}, "execution": None, "session": None}
        )
        return state

    def _dev_session(self) -> Session:
        from sdk._session import Session

        state = self._dev()
        if self.session is not None:
            return self.session
        if state["session"] is None:
            state["session"] = Session()
        session: Session = state["session"]
        return session

    def _dev_workspace(self, workspace: str | None) -> str:
        if workspace is not None:
            return workspace
        chosen = getattr(self, "workspace", None)
        if chosen is None:
            return "default"
        if isinstance(chosen, str):
            return chosen
        return str(getattr(chosen, "workspace_id", None) or getattr(chosen, "name", "default"))

    @property
    def development_execution(self) -> Execution | None:
        """The latest run ``run()`` or ``debug()`` started from this object."""
        found: Execution | None = self._dev()["execution"]
        return found

    def experiment(self, experiment_id: str, *, workspace: str | None = None) -> Experiment:
        """An experiment of the workspace this workflow develops in: its runs
        (``executions()``) and their values and metrics side by side (``compare()``)."""
        from sdk._experiment import find_experiment

        return find_experiment(self._dev_session(), experiment_id, self._dev_workspace(workspace))

    # --- values -------------------------------------------------------------------------

    def set_placeholder(self, name: str, value: Any) -> None:
        """Give placeholder ``name`` a value for the development runs from here on (checked
        against its type now; text is parsed as the CLI does, e.g. ``"0.1"`` for a float)."""
        spec = self.compile()
        placeholders = {p.name: p for p in spec.placeholders}
        if name not in placeholders:
            known = ", ".join(placeholders) or "none"
            raise ConfigurationError(
                f"workflow {self.name!r} has no placeholder {name!r} (placeholders: {known})"
            )
        placeholder = placeholders[name]
        if isinstance(value, str) and placeholder.type not in ("str", "enum"):
            try:
                value = parse_value(placeholder, value)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        problem = ir.value_matches(placeholder, value)
        if problem:
            raise ConfigurationError(f"placeholder {name!r}: {problem}")
        self._dev()["values"][name] = value

    def set_data(self, name: str, data: Any) -> None:
        """Give data placeholder ``name`` a data object (``wf.data.OBSPath(...)``,
        ``Dataset(...)``, …) for the development runs from here on."""
        self.set_placeholder(name, _data_value(data))

    # --- releasing for development ------------------------------------------------------

    def _develop(self, session: Session, workspace: str, name: str | None, emit: Emit) -> str:
        """Upload the local code as workspace packages and create or update the development
        workflow; its id."""
        spec = self.compile()
        uploaded: dict[str, str] = {}
        steps = []
        for step in spec.steps:
            props = step.typed_properties()
            if not isinstance(props, ir.JobProperties) or props.algorithm.source != "local":
                steps.append(step)
                continue
            algorithm = props.algorithm
            assert algorithm.code_dir is not None
            if algorithm.code_dir not in uploaded:
                package = pack(Path(algorithm.code_dir))
                path = f"/workspaces/{workspace}/packages/{package.sha256}"
                try:
                    session.response("HEAD", path)
                    have = True
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    have = False
                if not have:
                    session.request(
                        "PUT",
                        path,
                        content=package.data,
                        headers={"content-type": "application/gzip"},
                    )
                    emit(
                        f"uploaded the code of step {step.name!r} ({package.files} "
                        f"file{'' if package.files == 1 else 's'}, {len(package.data)} bytes)"
                    )
                uploaded[algorithm.code_dir] = package.sha256
            moved = algorithm.model_copy(
                update={
                    "source": "workspace",
                    "code_dir": None,
                    "package": uploaded[algorithm.code_dir],
                }
            )
            properties = {**step.properties, "algorithm": moved.model_dump(mode="json")}
            steps.append(step.model_copy(update={"properties": properties}))
        body = {
            "spec": spec.model_copy(update={"steps": steps}).model_dump(mode="json"),
            "name": name or spec.name,
            "development": True,
        }
        try:
            made = session.post(f"/workspaces/{workspace}/workflows", json=body)
        except ApiError as exc:
            raise ApiError(
                exc.status,
                f"development workflow {workspace}/{name or spec.name}: {exc.detail}",
                exc.errors,
            ) from None
        return str(made["id"])

    def _missing_values(
        self, session: Session, workflow_id: str, steps: list[str] | None
    ) -> list[ir.PlaceholderSpec]:
        """Required placeholders (read by the steps that run, delayed ones aside) with no
        value from ``set_placeholder``, a default or the saved configuration."""
        spec = self.compile()
        saved = session.get(f"/workflows/{workflow_id}")["config"]["placeholders"]
        chosen = steps or [s.name for s in spec.steps]
        read = {p for name in chosen for p in ir.step_placeholders(spec, spec.step(name))}
        values = self._dev()["values"]
        return [
            p
            for p in spec.placeholders
            if p.name in read
            and p.required
            and not p.delay
            and p.default is None
            and values.get(p.name) is None
            and saved.get(p.name) is None
        ]

    def _ask(self, placeholders: list[ir.PlaceholderSpec], what: str, then: str) -> None:
        """Ask for each value at a terminal; elsewhere say how to set them."""
        if not placeholders:
            return
        if not interactive():
            names = ", ".join(p.name for p in placeholders)
            first = placeholders[0].name
            raise ConfigurationError(
                f"{what} needs a value for {names}: call workflow.set_placeholder({first!r}, "
                f"value) (set_data for a data object) for each, then {then}"
            )
        for placeholder in placeholders:
            while True:
                hint = f" ({placeholder.description})" if placeholder.description else ""
                text = input(
                    f'Please input the value of placeholder "{placeholder.name}" '
                    f"[{placeholder.type}]{hint}: "
                )
                try:
                    self.set_placeholder(placeholder.name, text.strip())
                    break
                except ConfigurationError as exc:
                    print(exc)

    # --- run, debug, next ---------------------------------------------------------------

    def _start(
        self,
        steps: Step | str | Iterable[Step | str] | None,
        experiment_id: str | None,
        *,
        debug: bool,
        workspace: str | None,
        name: str | None,
        emit: Emit,
    ) -> Execution:
        session = self._dev_session()
        space = self._dev_workspace(workspace)
        names = _step_names(steps)
        workflow_id = self._develop(session, space, name, emit)
        if not debug:
            self._ask(
                self._missing_values(session, workflow_id, names),
                f"workflow {self.name!r}",
                "run it again",
            )
        body: dict[str, Any] = {"parameters": dict(self._dev()["values"]), "debug": debug}
        if names is not None:
            body["steps"] = names
        if experiment_id is not None:
            body["experiment"] = experiment_id
        try:
            started = session.post(f"/workflows/{workflow_id}/executions", json=body)
        except ApiError as exc:
            raise ApiError(
                exc.status, f"starting {space}/{name or self.name}: {exc.detail}", exc.errors
            ) from None
        execution = Execution.from_json(started, session)
        self._dev()["execution"] = execution
        where = f" in experiment {experiment_id!r}" if experiment_id is not None else ""
        mode = "debug run" if debug else "development run"
        emit(f"{mode} {execution.name} of {space}/{execution.workflow_name}{where} started")
        return execution

    def run(
        self,
        steps: Step | str | Iterable[Step | str] | None = None,
        experiment_id: str | None = None,
        *,
        workspace: str | None = None,
        name: str | None = None,
        emit: Emit = print,
    ) -> Execution:
        """Run the workflow (or only ``steps``) as a development run, showing its progress
        until it ends; the execution.

        The local code goes to the workspace (no asset is published) and the workflow becomes
        its development workflow ``name`` (default: its own name). ``experiment_id`` records
        the run under that experiment (made on first use); a partial run takes the outputs of
        the other steps from the experiment's latest runs (refused up front when one is
        missing). Values no default gives are asked for at a terminal; in a notebook the
        error names them and ``set_placeholder``. A step that waits for a delayed value is
        answered the same way (then ``next()`` continues it)."""
        execution = self._start(
            steps, experiment_id, debug=False, workspace=workspace, name=name, emit=emit
        )
        return self._drive(execution, emit)

    def debug(
        self,
        steps: Step | str | Iterable[Step | str] | None = None,
        experiment_id: str | None = None,
        *,
        workspace: str | None = None,
        name: str | None = None,
        emit: Emit = print,
    ) -> Execution:
        """Start a debug run of the workflow (or of ``steps``): no step starts until
        ``next()``. Values may be missing now: ``next()`` names what the next step needs,
        and ``set_placeholder``/``set_data`` give it."""
        execution = self._start(
            steps, experiment_id, debug=True, workspace=workspace, name=name, emit=emit
        )
        execution.wait(timeout=60, until=("paused", *RUN_ENDS))
        self._tell_next(execution, emit)
        return execution

    def next(self, step: str | None = None, *, emit: Emit = print) -> Execution:
        """Debug run: start the next ready step (or ``step``) with the values set so far, and
        show it until it ends. Development run waiting for input: continue it with them.
        Raises ConfigurationError saying why nothing can start, or which values are needed."""
        execution = self.development_execution
        if execution is None:
            raise ConfigurationError(
                "no development run to go on with: call workflow.debug(...) (or run(...)) first"
            )
        execution.refresh()
        if execution.status in RUN_ENDS:
            raise ConfigurationError(
                f"{execution.name} has {execution.status}: nothing is next "
                "(workflow.debug(...) starts a new debug run)"
            )
        values = self._dev()["values"]
        if not execution.data.get("debug"):
            return self._continue_waiting(execution, emit)
        try:
            answer = execution.session.post(
                f"/executions/{execution.id}/next",
                json={"step": step, "values": dict(values)},
            )
        except ApiError as exc:
            if exc.status in (409, 422):
                raise ConfigurationError(f"{execution.name}: {exc.detail}") from None
            raise
        started = answer["step"]
        emit(f"started step {started!r}")
        self._watch_step(execution, started, emit)
        self._tell_next(execution, emit)
        return execution

    # --- following ----------------------------------------------------------------------

    def _watch_step(self, execution: Execution, step: str, emit: Emit) -> None:
        """Wait until ``step`` ended (or the run settled), showing its state changes."""
        last = None
        while True:
            execution.refresh()
            state = execution.step(step)
            if state.status != last:
                emit(f"  {step}: {state.status}")
                last = state.status
            if state.status in STEP_ENDS or state.status == "waiting_input":
                break
            if execution.status in RUN_ENDS:
                break
            time.sleep(POLL_SECONDS)

    def _tell_next(self, execution: Execution, emit: Emit) -> None:
        execution.refresh()
        if execution.status == "paused":
            ready = [s.name for s in execution.steps if s.status == "pending"]
            emit(
                f"{execution.name} is paused: workflow.next() starts the next ready step"
                + (f" (pending: {', '.join(ready)})" if ready else "")
            )
        elif execution.status in RUN_ENDS:
            emit(f"{execution.name} {execution.status}")
            for line in execution.hints():
                emit(line)

    def _drive(self, execution: Execution, emit: Emit) -> Execution:
        """Follow a development run to its end, answering waiting steps as ``run`` says."""
        while True:
            status = execution.follow(emit)
            if status != "waiting_input":
                return execution
            execution = self._continue_waiting(execution, emit, follow=False)
            if execution.status == "waiting_input":
                return execution

    def _continue_waiting(
        self, execution: Execution, emit: Emit, *, follow: bool = True
    ) -> Execution:
        """Continue each waiting step with the values set (asked for at a terminal)."""
        spec = self.compile()
        placeholders = {p.name: p for p in spec.placeholders}
        values = self._dev()["values"]
        waiting = [s for s in execution.refresh().steps if s.status == "waiting_input"]
        if not waiting:
            raise ConfigurationError(
                f"{execution.name} is {execution.status}: no step waits for input "
                "(next() steps through debug runs only)"
            )
        for step in waiting:
            needed = ir.delayed_placeholders(spec, spec.step(step.name))
            missing = [placeholders[n] for n in needed if values.get(n) is None]
            try:
                self._ask(missing, f"step {step.name!r}", "call workflow.next()")
            except ConfigurationError:
                if follow:
                    raise
                emit(
                    f"step {step.name!r} waits for {', '.join(p.name for p in missing)}: "
                    f"workflow.set_placeholder({missing[0].name!r}, value), then workflow.next()"
                )
                return execution
            execution.continue_step(step.name, {n: values[n] for n in needed})
        if follow:
            return self._drive(execution, emit)
        return execution
