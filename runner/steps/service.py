"""``ServiceStep``: deploy a model version as an HTTP inference service on this machine.

The model version comes from the step's input: a model step's output or a ``GalleryModel``
(``CONTENT_ID@VERSION``), or the value the user gave its delayed ``ServiceInputPlaceholder``
when the step waited (the manual's list ``[{"model_name", "model_version", ...}]``, one entry
here), or a ``ModelData`` (``{"model_name", "model_version"}``): a model of the workspace's
owner by name (its latest version unless one is named).

Its files are put in ``DATA_DIR/services/<id>/<version>/`` (``runner.packages``: access
checked), a ``runner/serving.py`` process is started on a free loopback port (or the
``ServiceConfig(additional_properties={"port": N})``; a taken port fails the step) and the step
succeeds once ``/health`` answers; its output is the endpoint, ``http://127.0.0.1:PORT``
(``get_output_variable("access_address")``). Deploying again with the same ``service_name``
in the workspace loads the new version into the running process (``/admin/load``: no failed
request during the swap) and keeps its port. The worker supervises the process
(``runner.services``); stopping the execution leaves it running; deleting the service stops it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import or_, select

from registry.executions.models import Execution, StepRun
from registry.models_base import utcnow
from registry.services.models import NOTE_STARTED, Service
from registry.workspaces.models import RuntimeWorkflow
from runner import services
from runner.messages import InputValue, StepTask
from runner.packages import install_version
from runner.sandbox import INSIDE
from runner.steps.assets import asset_name, named_version, owner_of
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import spec as ir
from sdk.vocabulary import Kind

_processes: services.Processes | None = None


def processes_for(ctx: StepContext) -> services.Processes:
    """This worker's service processes (one table per worker process)."""
    global _processes
    if _processes is None:
        _processes = services.Processes(ctx.settings, ctx.sandbox)
    return _processes


def set_processes(found: services.Processes) -> None:
    """The worker's supervisor and its steps share one table of processes."""
    global _processes
    _processes = found


@dataclass
class Known:
    """What the step's settings refer to: the execution's placeholder values (the newest the
    task carries win), the outputs its steps recorded (another service's ``access_address``),
    and each placeholder's constraint (a service input's ``model_name``)."""

    values: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    constraints: dict[str, dict[str, Any]]


async def _known(ctx: StepContext, task: StepTask) -> Known:
    outputs: dict[str, dict[str, Any]] = {}
    constraints: dict[str, dict[str, Any]] = {}
    async with ctx.db.read() as session:
        execution = (
            await session.exec(select(Execution).where(Execution.execution_id == task.execution_id))
        ).first()
        if execution is not None:
            rows = await session.exec(
                select(StepRun.name, StepRun.outputs).where(StepRun.execution_pk == execution.id)
            )
            outputs = {name: dict(found or {}) for name, found in rows.all()}
            spec = (
                await session.exec(
                    select(RuntimeWorkflow.spec).where(RuntimeWorkflow.id == execution.workflow_pk)
                )
            ).first()
            for placeholder in (spec or {}).get("placeholders", []):
                if isinstance(placeholder, dict) and isinstance(
                    placeholder.get("constraint"), dict
                ):
                    constraints[str(placeholder.get("name"))] = placeholder["constraint"]
    values = dict(execution.parameters if execution is not None else {})
    for record in task.records.execution:
        if record.parameters is not None:
            values.update(record.parameters)
    for done in task.records.steps:  # written with this task: maybe not in the database yet
        if done.outputs:
            outputs[done.step] = {**outputs.get(done.step, {}), **done.outputs}
    return Known(values, outputs, constraints)


def _value(config: Any, values: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> Any:
    """A setting's value: a placeholder's from the execution, a literal's own, a service
    step's ``get_output_variable`` its recorded output; nested settings (``envs``) too."""
    if isinstance(config, dict) and "ref" in config:
        ref = config.get("ref")
        if ref == "placeholder":
            return values.get(str(config.get("name")))
        if ref == "literal":
            return config.get("value")
        if ref == "variable":
            return outputs.get(str(config.get("step")), {}).get(str(config.get("output")))
        return None
    if isinstance(config, dict):
        return {k: _value(v, values, outputs) for k, v in config.items()}
    return config


def _settings(
    task: StepTask, values: dict[str, Any], outputs: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    found = [o for o in task.step.outputs if o.kind == "service"]
    if len(found) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: a service step declares one ServiceOutput (it has "
            f"{len(found)})",
            non_retryable=True,
        )
    settings = task.settings.get(found[0].name)
    raw = settings if isinstance(settings, dict) else found[0].config
    return found[0].name, {k: _value(v, values, outputs) for k, v in raw.items()}


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
RESERVED_ENV = ("PATH", "LANG", "HOME", "TMPDIR")
RESERVED_PREFIXES = ("GALLERY_", "PYTHON", "LD_")


def _envs(step: str, settings: dict[str, Any]) -> dict[str, str]:
    """``ServiceConfig(envs=...)``: the process's own environment variables (a value may be
    another service step's ``get_output_variable("access_address")``)."""
    envs = settings.get("envs")
    if envs in (None, {}):
        return {}
    if not isinstance(envs, dict):
        raise StepFailure(
            f"step {step!r}: envs must be a mapping of names to text", non_retryable=True
        )
    found: dict[str, str] = {}
    for key, value in envs.items():
        if not ENV_NAME.fullmatch(key) or key in RESERVED_ENV or key.startswith(RESERVED_PREFIXES):
            raise StepFailure(
                f"step {step!r}: envs {key!r} is not a variable a service may set (a name of "
                f"letters, digits and '_', not {', '.join(RESERVED_ENV)} nor starting with "
                f"{', '.join(RESERVED_PREFIXES)})",
                non_retryable=True,
            )
        if value is None:
            raise StepFailure(
                f"step {step!r}: envs {key!r} has no value (a service address whose step has "
                "not run?)",
                non_retryable=True,
            )
        if isinstance(value, dict | list):
            raise StepFailure(f"step {step!r}: envs {key!r} is not text", non_retryable=True)
        found[key] = str(value)
    return found


def _port(step: str, settings: dict[str, Any]) -> int | None:
    extra = settings.get("additional_properties") or {}
    port = extra.get("port") if isinstance(extra, dict) else None
    if port in (None, ""):
        return None
    if not isinstance(port, int) or isinstance(port, bool) or not 1024 <= port <= 65535:
        raise StepFailure(
            f"step {step!r}: additional_properties port {port!r} is not a port from 1024 to 65535",
            non_retryable=True,
        )
    return port


def _split(task: StepTask) -> tuple[list[tuple[str, InputValue]], str | None]:
    """The inputs naming the model version, and the service to update (the manual's update
    mode: a ``ServiceData`` or ``ServiceUpdatePlaceholder`` input, its id or name; an empty
    one is the switch left off: deploy)."""
    models: list[tuple[str, InputValue]] = []
    target: str | None = None
    for name, value in task.inputs.items():
        given = value.value
        if value.kind == "value" and isinstance(given, dict) and "service_id" in given:
            target = str(given["service_id"])
        elif value.kind == "value" and isinstance(given, str) and given:
            target = given
        elif value.kind == "value" and given in (None, "", {}) and len(task.inputs) > 1:
            continue
        else:
            models.append((name, value))
    return models, target


async def _model_pin(
    ctx: StepContext, task: StepTask, inputs: list[tuple[str, InputValue]], known: Known
) -> str:
    """``CONTENT_ID@VERSION`` of the model version to serve, from the step's input."""
    where = f"step {task.step.name!r}"
    if len(inputs) != 1:
        raise StepFailure(
            f"{where}: a service step takes one input naming the model version to serve (a "
            f"ServiceInputPlaceholder, a model step's output or a GalleryModel), and "
            f"optionally the service to update (ServiceData, ServiceUpdatePlaceholder); it "
            f"has {len(inputs)} naming a model",
            non_retryable=True,
        )
    [(name, value)] = inputs
    where = f"{where} input {name!r}"
    if value.kind == "model":
        return str(value.value)
    chosen = value.value
    if isinstance(chosen, list):
        if len(chosen) != 1:
            raise StepFailure(
                f"{where}: one model version per service here (no traffic split); "
                f"{len(chosen)} were given",
                non_retryable=True,
            )
        chosen = chosen[0]
    # A ServiceInputPlaceholder's model_name (text, or the placeholder naming the model).
    data = next((i.data for i in task.step.inputs if i.name == name), None)
    constraint = known.constraints.get(data.name, {}) if isinstance(data, ir.PlaceholderRef) else {}
    expected = _value(constraint.get("model_name"), known.values, known.outputs)
    if isinstance(chosen, dict) and not chosen.get("model_name") and isinstance(expected, str):
        chosen = {**chosen, "model_name": expected}
    if not isinstance(chosen, dict) or not isinstance(chosen.get("model_name"), str):
        raise StepFailure(
            f"{where}: expected the model to serve, "
            '[{"model_name": "...", "model_version": "x.y.z"}]; got '
            f"{type(chosen).__name__}",
            non_retryable=True,
        )
    model_name = chosen["model_name"]
    if isinstance(expected, str) and expected and model_name != expected:
        raise StepFailure(
            f"{where}: this step serves model {expected!r} (its ServiceInputPlaceholder's "
            f"model_name); {model_name!r} was picked",
            non_retryable=True,
        )
    version = chosen.get("model_version") or None
    if version is not None and not isinstance(version, str):
        raise StepFailure(f"{where}: model_version {version!r} is not text", non_retryable=True)
    owner = await owner_of(ctx)
    return await named_version(ctx, owner, Kind.MODEL, model_name, version, where)


async def _existing(ctx: StepContext, name: str) -> Service | None:
    """The workspace's service of that name (or id)."""
    async with ctx.db.read() as session:
        rows = await session.exec(
            select(Service).where(
                Service.workspace_id == ctx.tenant.workspace_id,
                or_(Service.name == name, Service.service_id == name),
            )
        )
        found = rows.all()
    return next((s for s in found if s.name == name), found[0] if found else None)


async def _save(ctx: StepContext, service_id: str, **fields: Any) -> None:
    async with ctx.db.write() as session:
        found = (await session.exec(select(Service).where(Service.service_id == service_id))).one()
        for key, value in fields.items():
            setattr(found, key, value)
        found.updated_at = utcnow()
        session.add(found)


async def _fetch(ctx: StepContext, service_id: str, pin: str, where: str) -> Path:
    """The model version's files in the service's directory (fetched once)."""
    folder = services.folder_of(ctx.settings, service_id)
    target = folder / services.version_dir_name(pin)
    if target.is_dir():
        return target
    staging = folder / f".{target.name}.part"
    await asyncio.to_thread(shutil.rmtree, staging, True)
    try:
        await install_version(ctx, pin, staging, f"{where}: model {pin}")
        staging.rename(target)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)
    return target


def _inside(ctx: StepContext, service_id: str, path: Path) -> str:
    """How the sandboxed process names a path of its directory."""
    if not ctx.sandbox.enabled:
        return str(path)
    return str(INSIDE / path.relative_to(services.folder_of(ctx.settings, service_id)))


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    known = await _known(ctx, task)
    output, settings = _settings(task, known.values, known.outputs)
    step = task.step.name
    where = f"step {step!r}"
    name = settings.get("service_name") or step
    name = asset_name(step, "service_name", name)
    port = _port(step, settings)
    envs = _envs(step, settings)
    models, target = _split(task)
    pin = await _model_pin(ctx, task, models, known)
    owner = await owner_of(ctx)
    processes = processes_for(ctx)
    if target is not None:
        found = await _existing(ctx, target)
        if found is None:
            raise StepFailure(
                f"{where}: this workspace has no service {target!r} to update", non_retryable=True
            )
        name = found.name
    found = await _existing(ctx, name)
    if found is not None and found.status == "deleting":
        raise StepFailure(
            f"{where}: service {name!r} is being deleted; deploy again once it is gone",
            non_retryable=True,
        )
    if (
        found is not None
        and found.status == "running"
        and found.host == services.HOST
        and services.is_alive(found.pid, found.service_id)
        and services.read_envs(services.folder_of(ctx.settings, found.service_id)) == envs
    ):  # (other envs: the process starts again, on its port)
        return await _update(ctx, task, found, pin, output)
    if found is not None:
        service_id, port = found.service_id, port or found.port
        if found.host == services.HOST:
            await asyncio.to_thread(processes.stop, found.service_id, found.pid)
    else:
        service_id = str(uuid.uuid4())
    if port is None:
        port = services.free_port()
    elif not services.port_free(port):
        raise StepFailure(
            f"{where}: port {port} is already taken on this machine; choose another "
            "(ServiceConfig additional_properties port) or leave it out for a free one",
            non_retryable=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    fields: dict[str, Any] = {
        "model": pin,
        "status": "deploying",
        "host": services.HOST,
        "port": port,
        "pid": None,
        "endpoint": endpoint,
        "note": NOTE_STARTED,
        "error": None,
        "execution_id": task.execution_id,
        "step": step,
    }
    if found is None:
        async with ctx.db.write() as session:
            session.add(
                Service(
                    service_id=service_id,
                    workspace_id=ctx.tenant.workspace_id,
                    name=name,
                    secret=services.new_secret(),
                    created_by=owner.user_id,
                    **fields,
                )
            )
    else:
        await _save(ctx, service_id, **fields)
    secret = found.secret if found is not None else None
    if secret is None:
        again = await _existing(ctx, name)
        assert again is not None
        secret = again.secret
    pid: int | None = None
    try:
        await asyncio.to_thread(
            services.write_envs, services.folder_of(ctx.settings, service_id), envs
        )
        version_dir = await _fetch(ctx, service_id, pin, where)
        pid = await asyncio.to_thread(processes.start, service_id, version_dir, pin, port, secret)
        await _save(ctx, service_id, pid=pid)
        await services.wait_healthy(processes, service_id, pid, endpoint, services.HEALTH_SECONDS)
    except (StepFailure, services.ServiceError, asyncio.CancelledError) as exc:
        if pid is not None:
            await asyncio.shield(asyncio.to_thread(processes.stop, service_id, pid))
        message = exc.message if isinstance(exc, StepFailure) else str(exc)
        if isinstance(exc, asyncio.CancelledError):
            message = "the step was stopped while the service started"
        await asyncio.shield(_save(ctx, service_id, status="failed", pid=None, error=message))
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise StepFailure(f"{where}: service {name!r}: {message}", non_retryable=True) from None
    await _save(ctx, service_id, status="running")
    return Outcome(outputs={output: endpoint})


async def _update(
    ctx: StepContext, task: StepTask, found: Service, pin: str, output: str
) -> Outcome:
    """The running service takes the new model version; its port stays."""
    where = f"step {task.step.name!r}"
    version_dir = await _fetch(ctx, found.service_id, pin, where)
    try:
        await services.swap(
            found.endpoint, found.secret, _inside(ctx, found.service_id, version_dir), pin
        )
    except services.ServiceError as exc:
        raise StepFailure(f"{where}: service {found.name!r}: {exc}", non_retryable=True) from None
    for old in services.folder_of(ctx.settings, found.service_id).iterdir():
        if old.is_dir() and old != version_dir and old.name != "tmp":
            await asyncio.to_thread(shutil.rmtree, old, True)  # no request uses it any more
    await _save(
        ctx,
        found.service_id,
        model=pin,
        execution_id=task.execution_id,
        step=task.step.name,
        error=None,
    )
    return Outcome(outputs={output: found.endpoint})


__all__ = ["run", "set_processes"]
