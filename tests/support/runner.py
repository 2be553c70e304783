"""The runner's test rig: a real Temporal dev server and real `gallery worker` processes.

Everything listens on free loopback ports; each Gallery under test has its own task queue, so
several share one dev server without taking each other's work.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from registry.settings import Settings
from runner.embedded import start_dev_server, stop, wait_until_listening
from tests.support.server import free_port

TERMINAL = {"succeeded", "failed", "stopped"}


@dataclass
class TemporalServer:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Stop the server and start it again on the same port and database file."""
        stop(self.process)
        self.process = start_dev_server(self.data_dir, self.port, self.data_dir / "temporal.log")
        wait_until_listening(self.port, self.process)


@contextmanager
def temporal_server(data_dir: Path) -> Iterator[TemporalServer]:
    port = free_port()
    process = start_dev_server(data_dir, port, data_dir / "temporal.log")
    server = TemporalServer(port, data_dir, process)
    try:
        wait_until_listening(port, process)
        yield server
    finally:
        stop(server.process)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see the same Gallery as ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    values: dict[str, Any] = settings.model_dump(exclude_defaults=True)
    for key, value in values.items():
        if value is None:
            continue
        structured = isinstance(value, dict | list)
        env[f"GALLERY_{key.upper()}"] = json.dumps(value, default=str) if structured else str(value)
    return env


@dataclass
class WorkerProcess:
    settings: Settings
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL, as a crashed machine would: no clean-up runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(settings: Settings, *args: str) -> WorkerProcess:
    log = settings.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sdk.cli", "worker", *args],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(settings, process, log)
    deadline = time.monotonic() + 60
    while b"polling" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError("the worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.05)
    return worker


@contextmanager
def running_worker(settings: Settings, *args: str) -> Iterator[WorkerProcess]:
    worker = start_worker(settings, *args)
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(
    client: httpx.Client,
    execution_id: str,
    until: Any = None,
    *,
    timeout: float = 120,
) -> dict[str, Any]:
    """Poll an execution until ``until(execution)`` holds (default: it reached an end)."""
    check = until or (lambda e: e["status"] in TERMINAL)
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/executions/{execution_id}")
        answer.raise_for_status()
        execution: dict[str, Any] = answer.json()
        if check(execution):
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution did not get there in {timeout}s: {execution}")
        time.sleep(0.1)


def step(execution: dict[str, Any], name: str) -> dict[str, Any]:
    for found in execution["steps"]:
        if found["name"] == name:
            return dict(found)
    raise KeyError(name)


def step_is(name: str, *statuses: str) -> Any:
    return lambda e: step(e, name)["status"] in statuses


def stop_services(data_dir: Path) -> None:
    """End the service processes of a Gallery's data dir (they outlive their worker on
    purpose; a test session must not leave them behind)."""
    marker = str(data_dir / "services").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in line:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(entry.name), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
