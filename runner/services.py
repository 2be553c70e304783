"""Service processes on this machine: start, health-check, swap, stop, and supervise them.

A service is one ``runner/serving.py`` process per deployed model version, listening on
``127.0.0.1:PORT``. It runs in the same bubblewrap sandbox as jobs (``runner.sandbox``), with
the host's network shared (it must listen on the host's loopback; see docs/security.md), in
its own session, without ``--die-with-parent``: it outlives the worker that started it. Its
files live in ``DATA_DIR/services/<id>/``: the serving script, one directory per model version,
``tmp/`` and ``service.log``.

:class:`Supervisor` runs in the worker: every few seconds it stops the processes of services
marked ``deleting`` (then removes their directory and record) and starts again those whose
process is gone. On the worker's start it re-adopts the live ones (process there and
``/health`` answering) and restarts the dead ones, and writes which in the record's note.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlmodel import col, delete, select

from registry.db import Database
from registry.models_base import utcnow
from registry.services.models import (
    NOTE_READOPTED,
    NOTE_RESTARTED,
    Service,
)
from registry.settings import Settings, StepLimits
from runner import serving
from runner.sandbox import INSIDE, PATH, Placement, Sandbox

log = logging.getLogger("runner.services")
HOST = socket.gethostname()
HEALTH_SECONDS = 30.0
SUPERVISE_SECONDS = 2.0
NOTE_REVIVED = "restarted after its process ended"
FOREVER = 10 * 365 * 86400.0
"""A service has no timeout: its CPU limit is what ten years allow."""


class ServiceError(Exception):
    """A service cannot be started or answered; the message says why."""


def services_root(settings: Settings) -> Path:
    return settings.data_dir / "services"


def folder_of(settings: Settings, service_id: str) -> Path:
    return services_root(settings) / service_id


def version_dir_name(pin: str) -> str:
    content_id, _, version = pin.partition("@")
    return f"{version}-{content_id[:8]}"


ENVS_FILE = "envs.json"


def read_envs(folder: Path) -> dict[str, str]:
    """The service's own environment variables (``ServiceConfig(envs=...)``)."""
    try:
        found = json.loads((folder / ENVS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def write_envs(folder: Path, envs: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ENVS_FILE).write_text(json.dumps(envs, sort_keys=True))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the service binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes ---------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid, or None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return rest[0], int(rest[1])


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_alive(pid: int | None, service_id: str) -> bool:
    """The service's process is there (not a zombie, and its command line names it)."""
    if not pid:
        return False
    found = _stat(pid)
    if found is None or found[0] in ("Z", "X"):
        return False
    return service_id in _cmdline(pid)


def _uid_of(pid: int) -> int | None:
    """The real uid a process runs as (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the sandbox's processes below bwrap)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                children.setdefault(found[1], []).append(int(entry.name))
    order, todo = [], [pid]
    while todo:
        current = todo.pop()
        order.append(current)
        todo.extend(children.get(current, []))
    return order


class Processes:
    """The service processes this worker started (it reaps them) and how to start more."""

    def __init__(self, settings: Settings, sandbox: Sandbox) -> None:
        self.settings = settings
        self.sandbox = sandbox
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.claims: dict[str, contextlib.ExitStack] = {}

    def reap(self) -> None:
        for pid, child in list(self.children.items()):
            if child.poll() is not None:
                del self.children[pid]

    def start(self, service_id: str, version_dir: Path, model: str, port: int, secret: str) -> int:
        """Start the serving process for ``version_dir``; its pid (the process to stop)."""
        folder = folder_of(self.settings, service_id)
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        script = folder / "serving.py"
        shutil.copyfile(serving.__file__, script)
        place = Placement(folder, INSIDE if self.sandbox.enabled else folder)
        argv = [
            sys.executable,
            place.view(script),
            "--model-dir",
            place.view(version_dir),
            "--model",
            model,
            "--port",
            str(port),
        ]
        env = {
            **read_envs(folder),
            "PATH": f"{Path(sys.executable).parent}:{PATH}",
            "LANG": "C.UTF-8",
            "HOME": place.view(folder / "tmp"),
            "TMPDIR": place.view(folder / "tmp"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            serving.TOKEN_ENV: secret,
        }
        stack = contextlib.ExitStack()
        uid = stack.enter_context(self.sandbox.claim())
        limits = StepLimits(**{**self.settings.step_limits.model_dump(), "network": True})
        self.sandbox.prepare(place, uid, [folder / "tmp"])
        command = self.sandbox.command(
            argv, place=place, limits=limits, env=env, uid=uid, timeout_seconds=FOREVER
        )
        # The service outlives the worker: bwrap must not kill it when its parent ends.
        command = [a for a in command if a != "--die-with-parent"]
        with (folder / "service.log").open("ab") as out:
            child = subprocess.Popen(
                command,
                env=env,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children[child.pid] = child
        old = self.claims.pop(service_id, None)
        if old is not None:
            old.close()
        self.claims[service_id] = stack
        return child.pid

    def reclaim(self, service_id: str, pid: int | None) -> bool:
        """Claim again the sandbox uid a re-adopted service runs as; False when another
        process holds it."""
        uids = {_uid_of(p) for p in _tree(pid)} - {None, os.getuid()} if pid else set()
        stack = contextlib.ExitStack()
        for uid in uids:
            assert uid is not None
            held = self.sandbox.hold(uid)
            if held is None:
                stack.close()
                return False
            stack.callback(held.close)
        old = self.claims.pop(service_id, None)
        if old is not None:
            old.close()
        self.claims[service_id] = stack
        return True

    def stop(self, service_id: str, pid: int | None, *, wait: float = 5.0) -> None:
        """End the process and everything below it (the sandbox's processes)."""
        if pid and is_alive(pid, service_id):
            tree = _tree(pid)
            for each in reversed(tree):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(each, signal.SIGTERM)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any(_gone(p) is False for p in tree):
                self.reap()
                time.sleep(0.05)
            for each in tree:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(each, signal.SIGKILL)
        child = self.children.pop(pid, None) if pid else None
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)
        claim = self.claims.pop(service_id, None)
        if claim is not None:
            claim.close()
        self.reap()

    def log_tail(self, service_id: str, lines: int = 5) -> str:
        path = folder_of(self.settings, service_id) / "service.log"
        try:
            said = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(said[-lines:])


def _gone(pid: int) -> bool:
    found = _stat(pid)
    return found is None or found[0] in ("Z", "X")


async def health(endpoint: str, seconds: float = 2.0) -> str | None:
    """The model version the service at ``endpoint`` serves, or None when it does not answer."""
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            answer = await client.get(f"{endpoint}/health")
        if answer.status_code == 200:
            return str(answer.json().get("model"))
    except (httpx.HTTPError, ValueError):
        pass
    return None


async def wait_healthy(
    processes: Processes, service_id: str, pid: int, endpoint: str, seconds: float
) -> None:
    """Until ``/health`` answers; ServiceError (with the end of its log) when the process
    ends first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        if await health(endpoint, seconds=1.0) is not None:
            return
        processes.reap()
        if not is_alive(pid, service_id):
            tail = processes.log_tail(service_id)
            raise ServiceError(f"the service process ended: {tail or 'it said nothing'}")
        if time.monotonic() > deadline:
            tail = processes.log_tail(service_id)
            raise ServiceError(
                f"the service did not answer /health within {seconds:g} s"
                + (f": {tail}" if tail else "")
            )
        await asyncio.sleep(0.1)


async def swap(endpoint: str, secret: str, model_dir: str, model: str) -> None:
    """Load ``model`` into the running process (``POST /admin/load``); ServiceError."""
    try:
        async with httpx.AsyncClient(timeout=120.0) as client:
            answer = await client.post(
                f"{endpoint}/admin/load",
                json={"model_dir": model_dir, "model": model},
                headers={"Authorization": f"Bearer {secret}"},
            )
    except httpx.HTTPError as exc:
        raise ServiceError(f"the service did not answer at {endpoint} ({exc})") from None
    if answer.status_code != 200:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise ServiceError(f"the service refused the new model: {detail}")


# --- supervision -------------------------------------------------------------------------


@dataclass
class Supervisor:
    """Keeps this machine's service records and processes in step (see the module's doc)."""

    db: Database
    settings: Settings
    processes: Processes
    interval: float = SUPERVISE_SECONDS

    async def run(self) -> None:
        first = True
        lock: socket.socket | None = None
        try:
            while True:
                lock = lock or self._lock()
                try:
                    if lock is not None:  # else another worker here supervises them
                        await self.pass_once(first=first)
                        first = False
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("service supervision failed; trying again")
                await asyncio.sleep(self.interval)
        finally:
            if lock is not None:
                lock.close()

    def _lock(self) -> socket.socket | None:
        """One supervisor per machine and data directory (several workers may run on one
        machine): an abstract unix socket, released by the kernel when its worker ends."""
        key = hashlib.sha256(str(self.settings.data_dir.resolve()).encode()).hexdigest()[:32]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0gallery-services-{key}")
        except OSError:
            sock.close()
            return None
        return sock

    async def pass_once(self, *, first: bool = False) -> None:
        async with self.db.read() as session:
            rows = (
                await session.exec(
                    select(Service).where(
                        Service.host == HOST,
                        col(Service.status).in_(("running", "deleting")),
                    )
                )
            ).all()
        for row in rows:
            if row.status == "deleting":
                await self._delete(row)
            else:
                await self._keep(row, first)

    async def _delete(self, row: Service) -> None:
        await asyncio.to_thread(self.processes.stop, row.service_id, row.pid)
        await asyncio.to_thread(shutil.rmtree, folder_of(self.settings, row.service_id), True)
        async with self.db.write() as session:
            await session.exec(delete(Service).where(col(Service.id) == row.id))  # type: ignore[call-overload]
        log.info("service %s (%s) stopped and deleted", row.name, row.service_id)

    async def _keep(self, row: Service, first: bool) -> None:
        self.processes.reap()
        alive = is_alive(row.pid, row.service_id)
        if alive and (not first or await health(row.endpoint) is not None):
            if not first:
                return
            # Re-adopted: its sandbox uid is claimed again, so no step is given it; when a
            # step has it already (the worker was down meanwhile), the service starts afresh
            # under a uid of its own.
            if self.processes.reclaim(row.service_id, row.pid):
                await self._note(row, NOTE_READOPTED, pid=row.pid)
                return
        if alive:  # there, but not answering: start it afresh
            await asyncio.to_thread(self.processes.stop, row.service_id, row.pid)
        await self.restart(row, NOTE_RESTARTED if first else NOTE_REVIVED)

    async def restart(self, row: Service, note: str) -> None:
        version_dir = folder_of(self.settings, row.service_id) / version_dir_name(row.model)
        if not version_dir.is_dir():
            await self._note(row, note, status="failed", error="its model files are gone")
            return
        if not port_free(row.port):
            await self._note(
                row, note, status="failed", error=f"port {row.port} is taken by another process"
            )
            return
        pid = await asyncio.to_thread(
            self.processes.start, row.service_id, version_dir, row.model, row.port, row.secret
        )
        try:
            await wait_healthy(self.processes, row.service_id, pid, row.endpoint, HEALTH_SECONDS)
        except ServiceError as exc:
            await asyncio.to_thread(self.processes.stop, row.service_id, pid)
            await self._note(row, note, status="failed", error=str(exc), pid=None)
            return
        await self._note(row, note, pid=pid)
        log.info("service %s (%s): %s", row.name, row.service_id, note)

    async def _note(
        self,
        row: Service,
        note: str,
        *,
        status: str | None = None,
        error: str | None = None,
        pid: int | None = None,
    ) -> None:
        async with self.db.write() as session:
            found = (await session.exec(select(Service).where(col(Service.id) == row.id))).first()
            if found is None or found.status == "deleting":
                return
            found.note = note
            found.pid = pid
            found.error = error
            if status is not None:
                found.status = status
            found.updated_at = utcnow()
            session.add(found)
