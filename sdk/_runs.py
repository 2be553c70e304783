"""Client side of running workflows: typed values from ``NAME=VALUE`` text, finding a runtime
workflow, starting an execution, describing and following it. Shared by the ``gallery`` verbs
and the runtime handles of ``sdk._execution``; plain HTTP through ``Session``."""

from __future__ import annotations

import difflib
import io
import json
import math
import os
import shlex
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from sdk import spec as ir
from sdk._errors import ApiError, ConfigurationError
from sdk._refs import UUID_RE, execution_label
from sdk._session import Session

if TYPE_CHECKING:
    from sdk._execution import Execution as Execution

EXECUTION_ENDS = ("succeeded", "failed", "stopped")
"""Where ``follow`` stops (so does ``waiting_input``); a failed or stopped run can be retried."""
STEP_ENDS = ("succeeded", "failed", "skipped", "stopped")
TRUE = ("true", "yes", "1")
FALSE = ("false", "no", "0")
POLL_SECONDS = 0.5
FOLLOW_NOTE = "Ctrl-C stops watching; the run goes on"

Emit = Callable[[str], None]


def __getattr__(name: str) -> Any:
    """``sdk._runs.Execution`` is the handle of ``sdk._execution`` now (this module is below
    it, so the old name is looked up when asked for)."""
    if name == "Execution":
        from sdk._execution import Execution

        return Execution
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- typed values ---------------------------------------------------------------------------


def _kind(placeholder: ir.PlaceholderSpec) -> str:
    if placeholder.type == "enum":
        return "enum of " + ", ".join(json.dumps(v) for v in placeholder.enum_list or [])
    if placeholder.type == "list" and placeholder.format:
        return f"list of {placeholder.format}, as JSON"
    if placeholder.type == "json":
        return "json object or array"
    return placeholder.type


def parse_value(placeholder: ir.PlaceholderSpec, text: str) -> Any:
    """The typed value of ``text`` for this placeholder; ValueError says why it does not fit."""
    where = f"placeholder {placeholder.name!r} ({_kind(placeholder)})"
    kind = placeholder.type
    value: Any
    if kind == "str":
        value = text
    elif kind == "int":
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"{where}: {text!r} is not an integer") from None
    elif kind == "float":
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"{where}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{where}: {text!r} is not a finite number")
    elif kind == "bool":
        word = text.strip().lower()
        if word not in TRUE + FALSE:
            raise ValueError(f"{where}: {text!r} is not one of true/false/yes/no/1/0")
        value = word in TRUE
    elif kind == "enum":
        choices = placeholder.enum_list or []
        matches = [c for c in choices if c == text or _enum_text(c) == text]
        if not matches:
            shown = ", ".join(_enum_text(c) for c in choices)
            raise ValueError(f"{where}: {text!r} is not one of {shown}")
        value = matches[0]
    else:  # json, list
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{where}: {text!r} is not valid JSON ({exc})") from None
    problem = ir.value_matches(placeholder, value)
    if problem:
        raise ValueError(f"{where}: {problem}")
    return value


def _enum_text(choice: Any) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return choice if isinstance(choice, str) else json.dumps(choice)


def placeholders_of(workflow: dict[str, Any]) -> dict[str, ir.PlaceholderSpec]:
    """The placeholders of a runtime workflow's JSON (``GET /workflows/{id}``), by name."""
    spec = workflow.get("spec") or {}
    found = [ir.PlaceholderSpec.model_validate(p) for p in spec.get("placeholders") or []]
    return {p.name: p for p in found}


def parse_assignments(
    pairs: Iterable[str], placeholders: dict[str, ir.PlaceholderSpec], option: str
) -> dict[str, Any]:
    """``NAME=VALUE`` texts typed by their placeholders; ValueError names the culprit."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{option} takes NAME=VALUE, not {pair!r}")
        placeholder = placeholders.get(name)
        if placeholder is None:
            known = ", ".join(sorted(placeholders)) or "none"
            raise ValueError(f"{option} {name}: the workflow has no placeholder {name!r} ({known})")
        values[name] = parse_value(placeholder, text)
    return values


# --- server calls -----------------------------------------------------------------------------


def find_workflow(session: Session, ref: str, workspace: str = "default") -> dict[str, Any]:
    """A runtime workflow (``GET /workflows/{id}``, spec included) by id, or by its exact
    name in ``workspace``."""
    is_id = bool(UUID_RE.fullmatch(ref))
    if is_id:
        try:
            return dict(session.get(f"/workflows/{ref}"))
        except ApiError as exc:
            if exc.status != 404:
                raise
    near = ""
    if ir.NAME_RE.fullmatch(ref):
        rows = session.get(f"/workspaces/{workspace}/workflows", params={"q": ref})
        for row in rows:
            if row["name"] == ref:  # a summary: the spec is in the workflow's own read
                return dict(session.get(f"/workflows/{row['id']}"))
        near = ", ".join(_similar(session, ref, workspace, [r["name"] for r in rows]))
    elif not is_id:
        raise ConfigurationError(f"{ref!r} is neither a workflow id nor a workflow name")
    hint = f" (similar: {near})" if near else ""
    if is_id:
        raise ConfigurationError(
            f"no workflow {ref!r}: no workflow you can see has that id, and workspace "
            f"{workspace!r} has no workflow of that name{hint}"
        )
    raise ConfigurationError(f"workspace {workspace!r} has no workflow named {ref!r}{hint}")


SIMILAR = 5


def _similar(session: Session, ref: str, workspace: str, containing: list[str]) -> list[str]:
    """Names in the workspace that contain ``ref``, else names spelled like it (a typo)."""
    if containing:
        return sorted(containing)[:SIMILAR]
    names = [row["name"] for row in session.get(f"/workspaces/{workspace}/workflows")]
    return difflib.get_close_matches(ref, names, n=SIMILAR, cutoff=0.6)


def start_execution(
    session: Session,
    workflow_id: str,
    parameters: dict[str, Any] | None = None,
    scene: str | None = None,
    *,
    labels: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Start a run of a runtime workflow; the execution JSON."""
    body: dict[str, Any] = {"parameters": dict(parameters or {})}
    if scene is not None:
        body["scene"] = scene
    if labels is not None:
        body["labels"] = list(labels)
    return dict(session.post(f"/workflows/{workflow_id}/executions", json=body))


def read_execution(session: Session, execution_id: str) -> dict[str, Any]:
    return dict(session.get(f"/executions/{execution_id}"))


def find_step(execution: dict[str, Any], name: str) -> dict[str, Any]:
    for found in execution["steps"]:
        if found["name"] == name:
            return dict(found)
    known = ", ".join(s["name"] for s in execution["steps"])
    raise ConfigurationError(f"{execution['name']} has no step {name!r} (steps: {known})")


def wait_until(
    session: Session,
    execution_id: str,
    check: Callable[[dict[str, Any]], bool],
    *,
    timeout: float,
    interval: float = 0.2,
) -> tuple[dict[str, Any], bool]:
    """Poll until ``check(execution)`` holds or ``timeout`` passes: (execution, whether held)."""
    deadline = time.monotonic() + timeout
    while True:
        execution = read_execution(session, execution_id)
        if check(execution):
            return execution, True
        if time.monotonic() >= deadline:
            return execution, False
        time.sleep(interval)


# --- describing -----------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _waiting_name(item: dict[str, Any]) -> str:
    kind = item["type"]
    if item.get("enum_list"):
        kind = "one of " + ", ".join(_enum_text(c) for c in item["enum_list"])
    if item.get("default") is not None:
        kind += f", default {json.dumps(item['default'])}"
    return f"{item['name']} ({kind})"


def _example(item: dict[str, Any]) -> str:
    default = item.get("default")
    if default is not None:
        text = default if isinstance(default, str) else _enum_text(default)
    elif item.get("enum_list"):
        text = _enum_text(item["enum_list"][0])
    else:
        text = str(item["type"]).upper()
    return shlex.quote(f"{item['name']}={text}")


def continue_command(execution: dict[str, Any], step: dict[str, Any]) -> str:
    """The ``gallery continue`` command that gives a waiting step its values."""
    inputs = " ".join(f"--input {_example(item)}" for item in step.get("waiting_for") or [])
    return f"gallery continue {execution_label(execution)} {step['name']} {inputs}".rstrip()


def step_note(step: dict[str, Any]) -> str:
    if step["status"] == "waiting_input":
        names = [_waiting_name(i) for i in step.get("waiting_for") or []]
        if not names:  # a labeling step: people label its task's samples, then continue it
            return "waits for people to label its samples (see gallery todo / the to-do page)"
        return "waits for " + ", ".join(names)
    return first_line(step.get("error"))


def step_row(step: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (
        step["name"],
        step["status"],
        str(step["attempt"]) if step["attempt"] else "-",
        duration(step.get("duration_seconds")),
        step_note(step),
    )


def headline(execution: dict[str, Any]) -> str:
    took = execution.get("duration_seconds")
    return f"{execution_label(execution)}: {execution['status']}" + (
        f" ({duration(took)})" if took is not None else ""
    )


def hints(execution: dict[str, Any]) -> list[str]:
    """What went wrong and what the user can do next: continue waiting steps, retry failed
    or stopped ones."""
    lines = []
    ended = execution["status"] in ("failed", "stopped")
    failed_steps = False
    for step in execution["steps"]:
        if step["status"] == "waiting_input":
            lines.append(f"step {step['name']!r} waits for input; run:")
            lines.append(f"  {continue_command(execution, step)}")
        elif step["status"] in ("failed", "stopped") and ended:
            failed_steps = failed_steps or step["status"] == "failed"
            error = (step.get("error") or "").strip().splitlines()
            if error:
                lines.append(f"step {step['name']!r} {step['status']}:")
                lines.extend(f"    {line}" for line in error[-ERROR_LINES:])
            lines.append(
                f"to run step {step['name']!r} again: gallery retry {execution_label(execution)} "
                f"{step['name']} [--param NAME=VALUE ...]"
            )
    if execution["status"] == "failed" and execution.get("error") and not failed_steps:
        lines.insert(0, f"execution failed: {first_line(execution['error'])}")
    if execution["status"] == "paused":
        lines.append(
            f"a debug run between steps; start the next one: gallery next "
            f"{execution_label(execution)} [--param NAME=VALUE ...]"
        )
    return lines


ERROR_LINES = 12


def exit_code(status: str) -> int:
    """0 when the run succeeded or is still going (or waits for input), 1 when it failed or
    was stopped."""
    return 1 if status in ("failed", "stopped") else 0


def _change(step: dict[str, Any]) -> str:
    line = f"  {step['name']}: {step['status']}"
    details = []
    if step["status"] == "running" and step["attempt"] > 1:
        details.append(f"attempt {step['attempt']}")
    if step["status"] in STEP_ENDS and step.get("duration_seconds") is not None:
        details.append(duration(step["duration_seconds"]))
    if details:
        line += f" ({', '.join(details)})"
    note = step_note(step)
    return line + (f" - {note}" if note else "")


def follow(
    session: Session,
    execution_id: str,
    emit: Emit,
    *,
    interval: float = POLL_SECONDS,
    note: str = FOLLOW_NOTE,
) -> dict[str, Any]:
    """Follow the execution, emitting a line whenever a step's state changes, until it ends
    (succeeded, failed, stopped) or waits for input; the last execution JSON.

    Changes come from the server's event stream (``/executions/{id}/events``); a stream that
    breaks is opened again, and a server without one is polled every ``interval`` seconds."""
    seen: dict[str, tuple[str, int]] = {}
    first = True

    def show(execution: dict[str, Any]) -> bool:
        """Emit what changed; True when following is over."""
        nonlocal first
        if first:
            emit(
                f"following {execution['name']} of {execution['workspace']}/"
                f"{execution['workflow_name']} ({note})"
            )
        for step in execution["steps"]:
            state = (step["status"], step["attempt"])
            if seen.get(step["name"]) != state and not (first and step["status"] == "pending"):
                emit(_change(step))
            seen[step["name"]] = state
        first = False
        return bool(execution["status"] in (*EXECUTION_ENDS, "waiting_input", "paused"))

    streamed = _follow_events(session, execution_id, show)
    if streamed is not None:
        return streamed
    while True:  # no event stream on this server: poll
        execution = read_execution(session, execution_id)
        if show(execution):
            return execution
        time.sleep(interval)


STREAM_RETRIES = 5


def _follow_events(
    session: Session, execution_id: str, show: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Follow by the event stream; None when the server has none (then the caller polls)."""
    failures = 0
    while True:
        try:
            for event, data in session.events(f"/executions/{execution_id}/events"):
                if event == "execution":
                    failures = 0
                    execution: dict[str, Any] = json.loads(data)
                    if show(execution):
                        return execution
                elif event == "end":
                    return read_execution(session, execution_id)
        except ApiError as exc:
            if exc.status in (404, 405) and _exists(session, execution_id):
                return None  # an older server: the execution is there, its stream is not
            raise
        except ConfigurationError:
            failures += 1
            if failures > STREAM_RETRIES:
                raise
            time.sleep(min(2.0, 0.2 * 2**failures))


def _exists(session: Session, execution_id: str) -> bool:
    read_execution(session, execution_id)  # raises the 404 of a missing execution
    return True


class StepWatch:
    """The latest status of one step, kept up to date from the execution's event stream in a
    background thread (for ``gallery logs --follow``, which reads the log meanwhile)."""

    def __init__(self, session: Session, execution_id: str, step: str) -> None:
        import threading

        self.status = find_step(read_execution(session, execution_id), step)["status"]
        self._url, self._token = session.url, session.token
        self._execution_id, self._step = execution_id, step
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        follower = Session(self._url, self._token or "")
        try:
            for event, data in follower.events(f"/executions/{self._execution_id}/events"):
                if event == "execution":
                    self.status = find_step(json.loads(data), self._step)["status"]
                elif event == "end":
                    break
        except (ApiError, ConfigurationError):
            pass  # the server has no stream: ``ended`` asks the server itself
        finally:
            follower.close()
            self._stream_over = True

    _stream_over = False

    def ended(self, session: Session) -> bool:
        if self._stream_over and self.status not in STEP_ENDS:
            self.status = find_step(read_execution(session, self._execution_id), self._step)[
                "status"
            ]
        return self.status in STEP_ENDS


# --- downloading outputs ----------------------------------------------------------------------


def output_path(text: str) -> str:
    """``OUTPUT[/PATH]`` as the server takes it (a trailing ``/`` is dropped)."""
    if text.startswith("/"):
        raise ConfigurationError(f"{text!r} is absolute; give OUTPUT or OUTPUT/PATH inside it")
    wanted = text.removesuffix("/")
    bad = [p for p in wanted.split("/") if p in ("", ".", "..")] if wanted else []
    if bad:
        which = f"a {bad[0]!r}" if bad[0] else "an empty"
        raise ConfigurationError(
            f"{text!r} has {which} segment; give OUTPUT or OUTPUT/PATH inside it, without "
            "'..', '.' or '//'"
        )
    return wanted


class _Chunks(io.RawIOBase):
    """A file over an iterator of byte chunks, so ``tarfile`` reads the answer as it comes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        count = min(len(buffer), len(self._rest))
        buffer[:count] = self._rest[:count]
        self._rest = self._rest[count:]
        return count


def unpack(answer: httpx.Response, target: Path) -> tuple[int, int]:
    """Extract a streamed tar.gz into ``target`` (no member may leave it): files, bytes."""
    files = size = 0
    reader = io.BufferedReader(_Chunks(answer.iter_bytes()), buffer_size=1024 * 1024)
    try:
        with tarfile.open(fileobj=reader, mode="r|gz") as tar:
            for member in tar:
                tar.extract(member, target, filter="data")
                if member.isfile():
                    files += 1
                    size += member.size
    except (tarfile.TarError, OSError) as exc:
        raise ConfigurationError(f"cannot unpack the outputs into {target}: {exc}") from None
    return files, size


def save(answer: httpx.Response, target: Path) -> int:
    """Write a streamed file to ``target`` (whole or not at all): bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in answer.iter_bytes():
                out.write(chunk)
                size += len(chunk)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size
