"""Sandboxes started ahead of their steps (runner/launch.py), on the real sandbox.

The steps here are real JobSteps (``runner.steps.job.run``) of a published algorithm, run by
an in-process ``Activities`` (as the worker builds it, with ``spares``) against a real Gallery's
database and blob store: a probe that reports, in ``RESULT {json}`` lines of its log, exactly how
it was started (its command line and environment as raw bytes, uid, limits, stdin, mounts…),
or tries an attack on a sandbox that waits for another step. The ``Sandboxes`` object is
watched (which step took which sandbox) and the host looked at (``ready-*`` directories, the
launcher's process, the uid claims); nothing is timed: every wait polls, with a generous
deadline.

The attacks were each seen to fail with their protection taken away (see the docstrings).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import random
import signal
import socket
import stat
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from registry.blobs.base import CHUNK
from registry.blobs.local import LocalBlobStore
from registry.db import Database
from registry.settings import Settings, StepLimits
from runner import launch
from runner.activities import Activities
from runner.launch import Box, Sandboxes
from runner.messages import InputValue, Records, StepTask
from runner.sandbox import PATH, Sandbox
from runner.steps import job
from runner.steps.base import StepContext, StepFailure
from sdk import spec as ir
from tests.runner.flows import imported, start
from tests.support.databases import sqlite_url
from tests.support.gallery import Gallery, fast_settings, running_gallery
from tests.support.runner import TemporalServer

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="per-step uids need a worker running as root")
MiB = 1024 * 1024
TIMEOUT = 120.0
DEADLINE = 60.0
"""How long any awaited state may take to come (a generous bound, never a measurement)."""
TIGHT = StepLimits(memory_mb=700, cpu_seconds=77, open_files=123, processes=60, file_mb=9)
OTHER = StepLimits(memory_mb=900, cpu_seconds=88, open_files=321, processes=70, file_mb=11)
INJECTED = "export GALLERY_INJECTED=yes\necho injected-by-another-step\n"

PROBE = r'''
"""Says how it was started (RESULT {json} lines); with --attack=..., tries that attack."""
import ctypes, json, os, pathlib, signal, socket, sys, time

args = {}
for arg in sys.argv[1:]:
    name, _, value = arg[2:].partition("=")
    args.setdefault(name, value)
tmp = pathlib.Path(os.environ.get("TMPDIR", "/tmp"))


def result(**values):
    print("RESULT " + json.dumps(values), flush=True)


def attempt(action):
    try:
        return {"done": action()}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def processes():
    seen = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                seen[pid] = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode("latin-1")
            except OSError:
                pass
    return seen


def mounts():
    found = []
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        fields = left.split()
        found.append([fields[4], fields[5], right.split()[0]])
    return sorted(found)


if args.get("wait"):  # until the test says go
    give_up = time.monotonic() + 120
    while not (tmp / "go").exists() and time.monotonic() < give_up:
        time.sleep(0.02)

status = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("NoNewPrivs", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp"):
        status[key] = value.strip()
result(
    cmdline=pathlib.Path("/proc/self/cmdline").read_bytes().hex(),
    environ=pathlib.Path("/proc/self/environ").read_bytes().hex(),
    uid=os.getuid(),
    euid=os.geteuid(),
    gid=os.getgid(),
    groups=os.getgroups(),
    limits=pathlib.Path("/proc/self/limits").read_text(),
    stdin=os.readlink("/proc/self/fd/0"),
    fds=sorted(os.listdir("/proc/self/fd")),
    cwd=os.getcwd(),
    pid=os.getpid(),
    status=status,
    mounts=mounts(),
    processes=processes(),
    interfaces=sorted(name for _, name in socket.if_nameindex()),
    tmp=sorted(os.listdir(tmp)),
    code=sorted(os.listdir(".")),
)

attack = args.get("attack", "")
if attack == "reach":  # another sandbox's directories: list them, plant a file
    for path in json.loads(args["targets"]):
        result(
            path=path,
            listed=attempt(lambda: sorted(os.listdir(path))),
            wrote=attempt(lambda: pathlib.Path(path, "planted").write_text("planted") > 0),
        )
elif attack in ("signal", "inject"):  # another sandbox's launcher, by its host pid or found
    # A launcher waiting for its script (not the sandbox's init: bwrap, whose command line
    # holds the launcher's too)
    launchers = [
        p for p, c in processes().items()
        if c.startswith("/bin/sh\0-c\0") and c.endswith("\0gallery-launcher\0")
    ]
    result(launchers=launchers)
    for pid in [int(args["pid"]), *map(int, launchers)]:
        if attack == "signal":
            libc = ctypes.CDLL(None, use_errno=True)
            libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
            libc.ptrace.restype = ctypes.c_long

            def trace():
                if libc.ptrace(16, pid, None, None) == -1:  # PTRACE_ATTACH
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                return True

            def kill():
                os.kill(pid, signal.SIGKILL)
                return True

            result(pid=pid, traced=attempt(trace), killed=attempt(kill))
        else:

            def inject():
                with open(f"/proc/{pid}/fd/0", "w") as pipe:  # the launcher's script comes here
                    pipe.write(args["payload"])
                return True

            result(pid=pid, injected=attempt(inject))
'''


# --- the rig: a Gallery holding the published probe, and an execution its steps belong to ---


def own(names: list[str]) -> list[str]:
    """A step's ``/tmp`` listing without the mount points of the host's Python, which the
    sandbox binds again over the step's ``/tmp`` when it lives there (a venv under /tmp)."""
    from runner.sandbox import _python_roots

    mounted = {r.relative_to("/tmp").parts[0] for r in _python_roots() if r.is_relative_to("/tmp")}
    return [name for name in names if name not in mounted]


@dataclass
class Rig:
    gallery: Gallery
    client: httpx.Client
    workflow_id: str
    execution_id: str
    step: ir.StepSpec
    settings: Settings
    """The worker's settings (its data directory is set per test)."""


@pytest.fixture(scope="module")
def rig(temporal: TemporalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    data_dir = tmp_path_factory.mktemp("launch")
    settings = fast_settings(
        data_dir=data_dir / "gallery",
        database_url=sqlite_url(data_dir),
        temporal_address=temporal.address,
        task_queue=f"launch-{uuid.uuid4().hex[:8]}",  # served by no worker: steps run here
    )
    code = data_dir / "probe"
    code.mkdir()
    (code / "probe.py").write_text(textwrap.dedent(PROBE))
    probe = wf.steps.JobStep(
        name="probe",
        algorithm=wf.BaseAlgorithm(name="probe", code_dir=code, boot_file="probe.py"),
    )
    with running_gallery(settings, "sqlite") as gallery:
        client = gallery.user("launch")
        workflow_id = imported(client, wf.Workflow(name="launchprobe", desc="", steps=[probe]))
        execution = start(client, workflow_id)
        spec = ir.WorkflowSpec.model_validate(
            client.get(f"/workflows/{workflow_id}").json()["spec"]
        )
        worker = settings.model_copy(
            update={
                "flavors": {"tight": TIGHT, "other": OTHER},
                # uids of these tests' own (no other test's sandbox runs as one of them)
                "sandbox_uid_base": 1_100_000_000 + random.randrange(12_000) * 65_536,
            }
        )
        try:
            yield Rig(gallery, client, workflow_id, execution["id"], spec.step("probe"), worker)
        finally:
            client.post(f"/executions/{execution['id']}/stop")


# --- a worker's steps, run here -------------------------------------------------------------


class Watched(Sandboxes):
    """The worker's sandboxes, remembering which step took which."""

    def __init__(self, sandbox: Sandbox, work_root: Path, *, spares: int) -> None:
        super().__init__(sandbox, work_root, spares=spares)
        self.taken: dict[str, Box] = {}

    async def take(self, name: str, limits: StepLimits, timeout_seconds: float) -> Box:
        box = await super().take(name, limits, timeout_seconds)
        self.taken[name] = box
        return box

    def waiting(self, limits: StepLimits) -> list[Box]:
        return list(self._waiting.get(launch.key_of(self.sandbox, limits, TIMEOUT), []))


class Held(LocalBlobStore):
    """The Gallery's blobs; reading ``hold`` waits for ``release`` and then fails."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.hold = ""
        self.entered = threading.Event()
        self.release = threading.Event()

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        if key == self.hold:
            self.entered.set()
            self.release.wait(DEADLINE)
            raise RuntimeError("the held download was let go")
        return super().open(key, chunk_size)


@dataclass
class Ran:
    results: list[dict[str, Any]]
    error: str | None
    log: str

    @property
    def report(self) -> dict[str, Any]:
        assert self.error is None, self.error
        found = [r for r in self.results if "cmdline" in r]
        assert len(found) == 1, self.results
        return found[0]


@dataclass
class Worker:
    rig: Rig
    activities: Activities
    boxes: Watched

    @property
    def root(self) -> Path:
        return self.activities.work_root

    async def run(
        self,
        name: str,
        *,
        flavor: str = "tight",
        parameters: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        inputs: dict[str, InputValue] | None = None,
        wait: bool = False,
    ) -> Ran:
        """Run the probe as the step ``name``; its RESULT lines, or why it failed."""
        properties = dict(self.rig.step.properties)
        algorithm = {**properties["algorithm"], "environments": env or {}}
        step = self.rig.step.model_copy(
            update={"name": name, "properties": {**properties, "algorithm": algorithm}}
        )
        task = StepTask(
            execution_id=self.rig.execution_id,
            workflow_id=self.rig.workflow_id,
            step=step,
            parameters={**(parameters or {}), **({"wait": "1"} if wait else {})},
            inputs=inputs or {},
            flavor=flavor,
            timeout_seconds=TIMEOUT,
            records=Records(execution_id=self.rig.execution_id),
        )
        acts = self.activities
        log = f"test-launch/{uuid.uuid4().hex}.log"
        ctx = StepContext(
            db=acts.db,
            blobs=acts.blobs,
            work_root=acts.work_root,
            code_cache=acts.code_cache,
            attempt=1,
            log_key=log,
            tenant=await acts.tenants.of(self.rig.execution_id),
            tenants=acts.tenants,
            settings=acts.settings,
            sandbox=acts.sandbox,
            reads=acts.reads,
            boxes=acts.boxes,
        )
        error = None
        try:
            await job.run(ctx, task)
        except StepFailure as exc:
            error = exc.message
        try:
            text = b"".join(acts.blobs.open(log)).decode()
        except Exception:
            text = ""
        results = [
            json.loads(line[len("RESULT ") :])
            for line in text.splitlines()
            if line.startswith("RESULT ")
        ]
        return Ran(results, error, text)

    async def box_of(self, name: str) -> Box:
        await until(lambda: name in self.boxes.taken, f"step {name} took no sandbox")
        return self.boxes.taken[name]

    async def spare(self, limits: StepLimits = TIGHT) -> Box:
        """A sandbox of this kind started ahead, set up and waiting (the one taken next)."""

        def ready() -> bool:
            return any(_is_ready(box) for box in self.boxes.waiting(limits))

        await until(ready, "no sandbox was started ahead")
        return next(box for box in self.boxes.waiting(limits) if _is_ready(box))

    async def running(self, name: str) -> Box:
        """The step's sandbox, once its job runs in it."""
        box = await self.box_of(name)

        def started() -> bool:
            return any(b"probe.py" in cmd for cmd in processes_of(box.uid).values())

        await until(started, f"the job of {name} never started")
        return box

    async def idle(self) -> None:
        """Until the housekeeper has nothing left to do (started what it wants, removed what
        was spent)."""

        def settled() -> bool:
            boxes = self.boxes
            return not boxes._housekeeping and not boxes._spent and boxes._short() is None

        await until(settled, "the housekeeper never settled")


def _dead(box: Box) -> bool:
    return not box.alive()


def _is_ready(box: Box) -> bool:
    return box.ready.done() and not box.ready.cancelled() and box.ready.result() == launch.READY


@contextlib.asynccontextmanager
async def worker(
    rig: Rig, data_dir: Path, *, spares: int, blobs: LocalBlobStore | None = None, **settings: Any
) -> AsyncIterator[Worker]:
    """An ``Activities`` as the worker makes it (``spares`` sandboxes of a kind kept started),
    on the rig's database and blobs, with its own data (work) directory."""
    own = rig.settings.model_copy(update={"data_dir": data_dir, **settings})
    db = Database(own.resolved_database_url)
    store = blobs or LocalBlobStore(rig.gallery.settings.data_dir / "blobs")
    activities = Activities(db, store, own, spares=spares)
    activities.boxes = boxes = Watched(activities.sandbox, activities.work_root, spares=spares)
    try:
        yield Worker(rig, activities, boxes)
    finally:
        try:
            async with asyncio.timeout(DEADLINE):  # stopping never hangs a test
                await activities.stop()
        finally:
            await db.dispose()


async def until(check: Callable[[], bool], what: str) -> None:
    give_up = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < give_up, what
        await asyncio.sleep(0.02)


def go(box: Box) -> None:
    """Let a step waiting with ``wait=True`` go on."""
    (box.job / "tmp" / "go").write_text("go")


# --- the host's view ---------------------------------------------------------------------


def processes_of(uid: int) -> dict[int, bytes]:
    """The host's processes running as ``uid``: pid → command line."""
    found: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                found[int(entry.name)] = cmdline
    return found


def launcher_of(box: Box) -> int:
    """The host pid of the box's launcher (the shell waiting, as the step's uid, for a script)."""
    found = [pid for pid, cmd in processes_of(box.uid).items() if b"gallery-launcher" in cmd]
    assert len(found) == 1, processes_of(box.uid)
    return found[0]


def mode_of(path: Path, *, follow: bool = False) -> tuple[int, int]:
    """The owner and permission bits of ``path`` (of what it links to, with ``follow``)."""
    found = os.stat(path) if follow else os.lstat(path)
    return found.st_uid, stat.S_IMODE(found.st_mode)


def present(path: Path) -> bool:
    """Something is at ``path`` (a link counts, even a dangling one)."""
    return os.path.lexists(path)


def uid_free(uid: int) -> bool:
    """Nobody holds the claim on ``uid`` (``Sandbox.claim``'s abstract socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(f"\0gallery-sandbox-uid-{uid}")
        except OSError:
            return False
    return True


def tree_of(box: Box) -> set[tuple[int, str]]:
    """The box's processes on the host (its launcher's, bwrap's), each as (pid, start time)."""
    started = _stats()
    found = {box.process.pid}
    grew = True
    while grew:
        grew = False
        for pid, fields in started.items():
            if pid not in found and int(fields[1]) in found:
                found.add(pid)
                grew = True
    assert len(found) >= 3, found  # bwrap, bwrap as the namespace's init, the launcher
    return {(pid, started[pid][19]) for pid in found if pid in started}


def _stats() -> dict[int, list[str]]:
    """pid → the fields of /proc/<pid>/stat after the command (state, ppid, …)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    return found


def still_running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of ``processes`` that still run (a zombie does not: it waits for its reaper)."""
    stats = _stats()
    return {
        (pid, start)
        for pid, start in processes
        if pid in stats and stats[pid][19] == start and stats[pid][0] not in "ZX"
    }


async def gone(w: Worker, box: Box, processes: set[tuple[int, str]]) -> None:
    """The box is discarded: its processes are gone, its uid free (or claimed by a sandbox
    started since), its directory removed."""
    await until(lambda: not box.alive(), "the sandbox's process still runs")
    await until(lambda: not still_running(processes), f"left: {still_running(processes)}")

    def released() -> bool:
        others = [*w.boxes.taken.values(), *(b for bs in w.boxes._waiting.values() for b in bs)]
        return uid_free(box.uid) or any(
            b is not box and b.uid == box.uid and b.alive() for b in others
        )

    await until(released, f"uid {box.uid} is still claimed")
    await until(lambda: not present(box.work), f"{box.work} is still there")
    link = box.link
    if link is not None:
        await until(lambda: not present(link), f"{link} is still there")


# --- what a job should see -----------------------------------------------------------------

NASTY = [
    "plain",
    "two words",
    "",
    "$(touch /job/tmp/pwned-subst)",
    "`touch /job/tmp/pwned-tick`",
    "'; touch /job/tmp/pwned-quote; '",
    '"; touch /job/tmp/pwned-dquote; "',
    "line one\nline two\n",
    "\n",
    "\nexport GALLERY_INJECTED=yes\n",
    "trailing backslash \\",
    "\\n is not a newline",
    "tab\there",
    "  leading and trailing  ",
    "carriage\rreturn",
    "*",
    "~",
    "$HOME ${PATH} $1 $@ $$",
    "a;b&c|d>/job/tmp/pwned-redirect<e",
    "é ü 中 🎉",
    "--not-an-option",
    "=",
    "exec /bin/sh",
]
NASTY_PARAMETERS = {
    **{f"p{i}": value for i, value in enumerate(NASTY)},
    "two words": "name with a space",
    "x$(touch /job/tmp/pwned-name)": "name with a substitution",
}
IDENTIFIER_ENV = {f"NASTY_{i}": value for i, value in enumerate(NASTY)} | {
    "IFS": "x",  # special to the shell: the launcher's own parsing must not care
    "ENV": "/job/tmp/pwned-env",
    "PS4": "$(touch /job/tmp/pwned-ps4)",
    "LINENO": "not a line",
    "PPID": "1",
    "c": "the launcher's own variable",
    "line": "the launcher's other one",
}
ODD_NAME_ENV = {
    "with-dash": "$(touch /job/tmp/pwned-dash)",
    "dotted.name": "line one\nline two",
    "1digit": "'quoted'",
    "sp ace": "a b",
    "ünï": "é",
    "a$(touch /job/tmp/pwned-odd)": "`x`",
    "PLAIN": "plain",
}
SHELL_OWN_ENV = {
    "OPTIND": "not a number",  # dash refuses to export it ("Illegal number")
    "PLAIN": "plain",
}


def expected_env(rig: Rig, name: str, env: dict[str, str], *, job_dir: str = "/job") -> set[bytes]:
    values = {
        "PATH": f"{Path(sys.executable).parent}:{PATH}",
        "LANG": "C.UTF-8",
        "HOME": f"{job_dir}/tmp",
        "TMPDIR": f"{job_dir}/tmp",
        **env,
        "PYTHONUNBUFFERED": "1",
        "GALLERY_EXECUTION_ID": rig.execution_id,
        "GALLERY_STEP": name,
        "GALLERY_ATTEMPT": "1",
        "PWD": f"{job_dir}/code",
    }
    return {f"{k}={v}".encode() for k, v in values.items()}


def environ_of(report: dict[str, Any]) -> list[bytes]:
    raw = bytes.fromhex(report["environ"])
    assert raw.endswith(b"\0")
    return raw[:-1].split(b"\0")


def cmdline_of(parameters: dict[str, str], *, job_dir: str = "/job") -> bytes:
    argv = [sys.executable, f"{job_dir}/code/probe.py"]
    argv += [f"--{name}={value}" for name, value in parameters.items()]
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def limits_of(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for line in str(report["limits"]).splitlines()[1:]:
        values = line[26:].split()
        found[line[:26].strip()] = (values[0], values[1])
    return found


def same_start(report: dict[str, Any]) -> dict[str, Any]:
    """What must not differ between a sandbox started ahead and one started for the step: all
    but the uid (its own) and the sandbox's own processes (their numbers)."""
    return {k: v for k, v in report.items() if k not in ("uid", "euid", "gid", "processes")}


# --- 1. a following step runs in a sandbox started ahead, exactly as in a fresh one ---------


@needs_root
def test_a_following_step_takes_a_sandbox_started_ahead_and_runs_as_in_a_fresh_one(
    rig: Rig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with (
            worker(rig, tmp_path / "ahead", spares=2) as ahead,
            worker(rig, tmp_path / "fresh", spares=0) as fresh,
        ):
            first = asyncio.ensure_future(ahead.run("first", wait=True))
            first_box = await ahead.box_of("first")
            assert first_box.work.name.startswith("first-")  # none was started: its own
            # While it runs, a sandbox of its kind is started ahead, and waits: its directory,
            # its uid (not the running step's), its launcher already running as that uid.
            spare = await ahead.spare()
            assert spare.work.parent == ahead.root and spare.work.name.startswith("ready-")
            assert spare.uid != first_box.uid and spare.uid >= rig.settings.sandbox_uid_base
            launcher = launcher_of(spare)
            assert (spare.job / "code").is_dir() and not list((spare.job / "code").iterdir())
            go(first_box)
            assert (await first).report["uid"] == first_box.uid

            second = asyncio.ensure_future(
                ahead.run("second", parameters=NASTY_PARAMETERS, env=IDENTIFIER_ENV, wait=True)
            )
            box = await ahead.box_of("second")
            assert box is spare
            # Found by the step's name through a link; the launcher became the job (same pid).
            assert box.link == ahead.root / f"second-{spare.work.name.split('-')[1]}"
            assert os.readlink(box.link) == spare.work.name
            await until(
                lambda: b"probe.py" in processes_of(spare.uid).get(launcher, b""),
                "the launcher did not become the job",
            )
            go(box)
            report = (await second).report

            own = asyncio.ensure_future(
                fresh.run("second", parameters=NASTY_PARAMETERS, env=IDENTIFIER_ENV, wait=True)
            )
            go(await fresh.running("second"))
            control = (await own).report
            assert fresh.boxes.taken["second"].work.name.startswith("second-")

        assert report["uid"] == spare.uid != first_box.uid
        assert report["uid"] == report["euid"] == report["gid"] and report["groups"] == []
        assert control["uid"] != 0
        # The same start as a sandbox started for the step: command line and environment
        # (bytes), limits, stdin, file descriptors, mounts, namespaces, capabilities…
        assert same_start(report) == same_start(control)
        assert sorted(environ_of(report)) == sorted(expected_env(rig, "second", IDENTIFIER_ENV))
        assert bytes.fromhex(report["cmdline"]) == cmdline_of({**NASTY_PARAMETERS, "wait": "1"})
        assert report["stdin"] == "/dev/null"
        assert report["fds"] == ["0", "1", "2", "3"]
        assert report["cwd"] == "/job/code" and report["pid"] <= 3
        assert report["interfaces"] == ["lo"]
        assert report["status"]["NoNewPrivs"] == "1"
        assert report["status"]["CapEff"] == report["status"]["CapBnd"] == "0000000000000000"
        assert not [name for name in report["tmp"] if name.startswith("pwned")], report["tmp"]
        limits = limits_of(report)
        for name, value in {
            "Max open files": TIGHT.open_files,
            "Max address space": TIGHT.memory_mb * MiB,
            "Max processes": TIGHT.processes,
            "Max file size": TIGHT.file_mb * MiB,
            "Max cpu time": TIGHT.cpu_seconds,
            "Max core file size": 0,
        }.items():
            assert limits[name] == (str(value), str(value)), (name, limits[name])

    asyncio.run(scenario())


@needs_root
@pytest.mark.parametrize(
    ("env", "how"),
    [
        (IDENTIFIER_ENV, b"export "),
        (ODD_NAME_ENV, b"exec /usr/bin/env -i -- "),
        (SHELL_OWN_ENV, b"exec /usr/bin/env -i -- "),
    ],
    ids=["shell-exports", "odd-names-through-env", "names-the-shell-owns"],
)
def test_argv_and_environment_arrive_byte_exact(
    rig: Rig, tmp_path: Path, env: dict[str, str], how: bytes
) -> None:
    """Whatever the values (and the names of environment variables), the job gets exactly its
    command line and environment, in a sandbox started ahead as in a fresh one."""

    async def scenario() -> tuple[Ran, Ran]:
        async with worker(rig, tmp_path / "ahead", spares=1) as ahead:
            assert (await ahead.run("warm")).error is None
            spare = await ahead.spare()
            ran = await ahead.run("job", parameters=NASTY_PARAMETERS, env=env)
            assert ahead.boxes.taken["job"] is spare
        async with worker(rig, tmp_path / "fresh", spares=0) as fresh:
            own = await fresh.run("job", parameters=NASTY_PARAMETERS, env=env)
        return ran, own

    for ran in asyncio.run(scenario()):
        report = ran.report
        environ = environ_of(report)
        assert len(environ) == len(set(environ))
        assert set(environ) == expected_env(rig, "job", env)
        assert bytes.fromhex(report["cmdline"]) == cmdline_of(NASTY_PARAMETERS)
        assert report["stdin"] == "/dev/null"
        assert not [name for name in report["tmp"] if name.startswith("pwned")], report["tmp"]
        assert "injected" not in json.dumps(ran.results)
    script = launch.script(["/x"], {**env, "PATH": PATH}, "/job/code")
    assert script.startswith(how)  # both ways of launch.script are covered


@needs_root
def test_a_step_named_like_the_sandboxes_started_ahead_runs_in_one(
    rig: Rig, tmp_path: Path
) -> None:
    """A step may be called ``ready`` (the prefix of the sandboxes started ahead)."""

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            spare = await w.spare()
            ran = await w.run("ready")
            assert ran.error is None, ran.error
            assert w.boxes.taken["ready"] is spare
            assert ran.report["uid"] == spare.uid
            await w.idle()
            assert not spare.work.exists()

    asyncio.run(scenario())


# --- 2. a sandbox serves one step only -----------------------------------------------------


@needs_root
def test_a_sandbox_serves_one_step_only(rig: Rig, tmp_path: Path) -> None:
    """Steps at once and one after the other: never one uid at once, never one directory,
    never a sandbox twice; a step sees nothing an earlier one left."""

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=3) as w:
            names = [f"s{i}" for i in range(8)]
            runs: dict[str, Ran] = {}
            for i, batch in enumerate((names[:3], names[3:4], names[4:7], names[7:])):
                if i > 0:  # some of them run in sandboxes started ahead
                    await w.spare()
                tasks = {n: asyncio.ensure_future(w.run(n, wait=True)) for n in batch}
                # Every step of the batch runs in its sandbox at once.
                boxes = [await w.running(n) for n in batch]
                assert len({b.uid for b in boxes}) == len(batch)
                for b in boxes:
                    go(b)
                for n, task in tasks.items():
                    runs[n] = await task
            taken = [w.boxes.taken[n] for n in names]
            assert len({id(b) for b in taken}) == len(names)
            assert len({b.work for b in taken}) == len(names)
            assert any(b.work.name.startswith("ready-") for b in taken)
            for n, b in zip(names, taken, strict=True):
                report = runs[n].report
                assert report["uid"] == b.uid
                assert own(report["tmp"]) == ["go"] and report["code"] == ["probe.py"]
                assert not b.alive()
            await w.idle()
            for b in taken:
                assert not present(b.work) and (b.link is None or not present(b.link))

    asyncio.run(scenario())


@needs_root
def test_a_sandbox_whose_step_fails_before_its_job_is_discarded(rig: Rig, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            spare = await w.spare()
            processes = tree_of(spare)
            tenant = await w.activities.tenants.of(rig.execution_id)
            missing = InputValue(kind="path", path=f"{tenant.namespace}launch/nothing-here/")
            ran = await w.run("broken", inputs={"data": missing})
            assert ran.error is not None and "nothing is stored" in ran.error, ran.error
            assert w.boxes.taken["broken"] is spare and ran.results == []
            await gone(w, spare, processes)

    asyncio.run(scenario())


@needs_root
def test_a_sandbox_whose_step_is_cancelled_before_its_job_is_discarded(
    rig: Rig, tmp_path: Path
) -> None:
    blobs = Held(rig.gallery.settings.data_dir / "blobs")

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1, blobs=blobs) as w:
            assert (await w.run("warm")).error is None
            tenant = await w.activities.tenants.of(rig.execution_id)
            held = InputValue(kind="path", path=f"{tenant.namespace}held/{uuid.uuid4().hex}.bin")
            blobs.hold = f"objects{held.path}"
            # Started ahead (the kind ran before), and started for the step (a new kind).
            for name, flavor in (("ahead", "tight"), ("own", "other")):
                spare = await w.spare() if flavor == "tight" else None
                blobs.entered.clear()
                blobs.release.clear()
                step = asyncio.ensure_future(w.run(name, flavor=flavor, inputs={"data": held}))
                box = await w.box_of(name)
                if spare is not None:
                    assert box is spare
                else:
                    assert box.work.name.startswith(f"{name}-")
                await until(blobs.entered.is_set, "the input download never began")
                await until(functools.partial(_is_ready, box), "the sandbox was never set up")
                processes = tree_of(box)
                step.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await step
                blobs.release.set()
                await gone(w, box, processes)

    asyncio.run(scenario())


# --- 3. attacks on a sandbox that waits for another step ------------------------------------


@needs_root
def test_a_step_cannot_reach_a_waiting_sandboxs_directory(rig: Rig, tmp_path: Path) -> None:
    """Another kind's sandbox waits, started ahead; a step tries to list it and plant a file in
    it, by its host path and from its own ``/job/..``.

    The mounts (only its own directory is bound, at ``/job``) and, behind them, the host's modes
    (the sandbox's directory root's alone, its job directories its uid's) are each checked.
    Verified against: the host's ``/tmp`` bound into every sandbox (``Sandbox.command``: the
    path is there, ``Permission denied`` instead of ``No such file``: fails); the directories
    opened (``chmod`` in ``Sandbox.prepare``: the modes, fails); and both (the listing and the
    plant succeed: fails)."""

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            spare = await w.spare()
            job_dir = spare.job
            # Behind the mounts, the host's modes close it too: the sandbox's directory is
            # root's alone, its job directories its own uid's, writable by nobody else.
            assert mode_of(spare.work) == (0, 0o700)
            for folder in (job_dir, job_dir / "code", job_dir / "tmp"):
                owner, mode = mode_of(folder)
                assert owner == spare.uid and not mode & 0o022, (folder, owner, oct(mode))
            targets = [str(job_dir), str(job_dir / "code"), str(job_dir / "tmp"), str(w.root)]
            ran = await w.run(
                "attacker",
                flavor="other",
                parameters={"attack": "reach", "targets": json.dumps([*targets, "/job/.."])},
            )
            assert w.boxes.taken["attacker"] is not spare
            tried = {r["path"]: r for r in ran.results if "path" in r}
            for target in targets:
                assert "error" in tried[target]["listed"], tried[target]
                assert "No such file" in tried[target]["listed"]["error"]
                assert "error" in tried[target]["wrote"], tried[target]
            assert spare.work.name not in json.dumps(tried["/job/.."])
            assert "ready" not in json.dumps(tried["/job/.."]["listed"])
            assert not list(spare.work.rglob("planted"))
            # The waiting sandbox is untouched: the next step of its kind runs in it.
            after = await w.run("next")
            assert w.boxes.taken["next"] is spare and after.report["code"] == ["probe.py"]
            assert own(after.report["tmp"]) == []

    asyncio.run(scenario())


@needs_root
def test_a_step_cannot_signal_or_trace_a_waiting_launcher(rig: Rig, tmp_path: Path) -> None:
    """A step tries to ptrace and SIGKILL the launcher of a sandbox waiting for another step
    (by its host pid, and any launcher it can find in its ``/proc``).

    Two protections, each checked on its own: the step's own PID namespace (it sees no other
    sandbox's process) and its own uid (not the launcher's). Verified against: no
    ``--unshare-pid`` (the launcher shows in its ``/proc``: fails), one uid for every sandbox
    (``Sandbox.claim`` yielding ``uid_base`` always: the uids match, fails), and both (the
    launcher is traced and killed: fails)."""

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            spare = await w.spare()
            pid = launcher_of(spare)
            ran = await w.run(
                "attacker", flavor="other", parameters={"attack": "signal", "pid": str(pid)}
            )
            attacker = ran.report
            assert attacker["uid"] != spare.uid  # its own uid
            assert not [p for p in attacker["processes"] if int(p) == pid]
            assert next(r for r in ran.results if "launchers" in r)["launchers"] == []
            tries = [r for r in ran.results if "pid" in r and "traced" in r]
            assert tries and all("error" in t["traced"] and "error" in t["killed"] for t in tries)
            assert spare.alive() and pid in processes_of(spare.uid)
            after = await w.run("next")
            assert w.boxes.taken["next"] is spare and after.report["uid"] == spare.uid

    asyncio.run(scenario())


@needs_root
def test_a_step_cannot_inject_into_another_steps_script(rig: Rig, tmp_path: Path) -> None:
    """A step tries to write lines into the stdin of a waiting launcher (where the script of
    the step that takes it will come): ``/proc/<pid>/fd/0``, by the host pid and by any
    launcher it finds. The next step in that sandbox must run its own script only.

    Three protections, each checked on its own: the PID namespace and the uid as for the
    signal attack, and the pipe itself (the worker's, root's, mode 0600). Verified against: no
    ``--unshare-pid`` (the launcher is seen: fails), one uid for every sandbox (the uids match:
    fails), the pipe opened (``fchmod 0o666`` in ``Sandboxes._start``: its mode, fails); with
    only the pipe left, the write is refused (``Permission denied``); with all three gone the
    lines land: the next step's environment holds ``GALLERY_INJECTED`` (fails)."""

    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            spare = await w.spare()
            pid = launcher_of(spare)
            # The launcher's stdin is the worker's pipe: root's, open to nobody else.
            assert mode_of(Path(f"/proc/{pid}/fd/0"), follow=True) == (0, 0o600)
            ran = await w.run(
                "attacker",
                flavor="other",
                parameters={"attack": "inject", "pid": str(pid), "payload": INJECTED},
            )
            assert ran.report["uid"] != spare.uid
            assert next(r for r in ran.results if "launchers" in r)["launchers"] == []
            tries = [r for r in ran.results if "injected" in r]
            assert tries and all("error" in t["injected"] for t in tries), tries
            victim = await w.run("victim", env={"PLAIN": "plain"})
            assert w.boxes.taken["victim"] is spare
            assert set(environ_of(victim.report)) == expected_env(rig, "victim", {"PLAIN": "plain"})
            assert "injected-by-another-step" not in victim.log

    asyncio.run(scenario())


# --- 4. closing, and sandboxes that died while they waited ---------------------------------


@needs_root
def test_close_stops_every_waiting_launcher_and_removes_the_directories(
    rig: Rig, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=2) as w:
            tasks = [
                asyncio.ensure_future(w.run(name, flavor=flavor, wait=True))
                for name, flavor in (("a", "tight"), ("b", "tight"), ("c", "other"))
            ]
            boxes = [await w.box_of(name) for name in ("a", "b", "c")]
            await until(lambda: all(_is_ready(b) for b in boxes), "the steps never started")
            for b in boxes:
                go(b)
            for task in tasks:
                assert (await task).error is None
            await w.idle()
            waiting = w.boxes.waiting(TIGHT) + w.boxes.waiting(OTHER)
            assert len(w.boxes.waiting(TIGHT)) == 2 and len(w.boxes.waiting(OTHER)) == 1
            assert all(_is_ready(b) for b in waiting)
            trees = {b.uid: tree_of(b) for b in waiting}
            assert len(trees) == 3

            await w.boxes.close()

            for b in waiting:
                assert not b.alive() and uid_free(b.uid)
                assert not processes_of(b.uid), processes_of(b.uid)
            # The sandboxes' inits (root's bwrap, killed with their parent) go as well.
            left = [still_running(tree) for tree in trees.values()]
            await until(lambda: not any(still_running(t) for t in trees.values()), f"{left}")
            assert list(w.root.iterdir()) == []
            assert not w.boxes._waiting and not w.boxes._housekeeping

    asyncio.run(scenario())


@needs_root
def test_a_sandbox_started_ahead_that_died_is_skipped(rig: Rig, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with worker(rig, tmp_path, spares=1) as w:
            assert (await w.run("warm")).error is None
            for how in ("launcher", "group"):
                spare = await w.spare()
                pid = launcher_of(spare)
                processes = tree_of(spare)
                if how == "launcher":  # the step's uid's shell (as the OOM killer would)
                    os.kill(pid, signal.SIGKILL)
                else:  # the whole sandbox, from outside
                    os.killpg(spare.process.pid, signal.SIGKILL)
                await until(functools.partial(_dead, spare), "it did not die")
                ran = await w.run(f"after-{how}")
                assert ran.error is None, ran.error
                box = w.boxes.taken[f"after-{how}"]
                assert box is not spare and ran.report["uid"] == box.uid
                await gone(w, spare, processes)

    asyncio.run(scenario())


# --- 5. unsandboxed ------------------------------------------------------------------------


def test_unsandboxed_steps_run_through_the_launcher_with_no_sandbox_started_ahead(
    rig: Rig, tmp_path: Path
) -> None:
    """GALLERY_UNSAFE_NO_SANDBOX=1 where bwrap cannot run: no sandbox is started ahead (spares
    forced to 0), and each step still runs through the launcher: the job is the launcher's
    process, with exactly its environment and command line and stdin from /dev/null."""

    async def scenario() -> None:
        async with worker(
            rig,
            tmp_path,
            spares=4,
            sandbox_bwrap=tmp_path / "no-bwrap",
            unsafe_no_sandbox=True,
        ) as w:
            assert w.activities.sandbox.mode == "none" and w.boxes.spares == 0
            for name, env in (("one", ODD_NAME_ENV), ("two", IDENTIFIER_ENV)):
                ran = await w.run(name, parameters=NASTY_PARAMETERS, env=env)
                report = ran.report
                box = w.boxes.taken[name]
                assert box.work.name.startswith(f"{name}-")
                assert report["pid"] == box.process.pid  # the launcher became the job
                assert report["stdin"] == "/dev/null"
                host = str(box.job)
                assert set(environ_of(report)) == expected_env(rig, name, env, job_dir=host)
                assert bytes.fromhex(report["cmdline"]) == cmdline_of(
                    NASTY_PARAMETERS, job_dir=host
                )
                assert report["cwd"] == f"{host}/code"
                await w.idle()
                assert not w.boxes._waiting
                assert not list(w.root.glob("ready-*"))

    asyncio.run(scenario())
