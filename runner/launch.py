"""Step sandboxes started ahead of their steps: the sandbox is set up before it is needed.

Setting up a sandbox (bwrap mounting the step's root and making its namespaces, then
``setpriv`` dropping to the step's uid) takes ~7 ms, most of a no-op step's own time. So a
worker keeps a few sandboxes *started*: each is bound to a fresh, empty working directory and
a claimed uid, with a flavor's limits, and waits in its launcher (a few lines of ``sh``,
already running as the step's uid) for the one job it will run. A step takes one (or starts
one at once when none is there), puts its code and inputs in place, and sends the launcher a
script: the job's environment and command line. The launcher execs the job, which then runs
exactly as in a sandbox started for it: same mounts, namespaces, uid, limits and environment,
stdin from ``/dev/null``. A sandbox serves one step only and goes with it.

Nothing about the step is decided before it takes a sandbox (its access check, its code and
inputs come after), so a started sandbox holds nothing that could be revoked meanwhile.

With none started (the first step of a kind, or more steps at once than were kept started) a
step starts its own the same way, and it sets itself up while the step's code is checked and
linked and its inputs downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from registry.settings import StepLimits
from runner.background import later
from runner.sandbox import INSIDE, Placement, Sandbox

READY = b"\n"
# Runs first in the sandbox: says it is ready (one newline), reads a script from stdin until
# it closes (sent once the code and inputs are in place), then runs it with stdin from
# /dev/null; the script ends in ``exec``. Without a script (the step was abandoned) it exits.
LAUNCHER = [
    "/bin/sh",
    "-c",
    'echo\nc=\nwhile IFS= read -r line; do c="$c$line\n"; done\n'
    '[ -n "$c" ] || exit 111\nexec </dev/null\neval "$c"\n',
    "gallery-launcher",
]
ENV = "/usr/bin/env"
SPARES = 8
"""The most sandboxes of a kind a worker keeps started (as many as its steps of that kind
used at once lately)."""
IDLE_SECONDS = 600.0
"""A started sandbox nobody took for this long is stopped."""
LULL_SECONDS = 0.05
"""With no step running for this long, the housekeeper need not wait for one."""
PATIENCE_SECONDS = 1.0
"""The housekeeper waits no longer than this for a moment that suits the steps."""
SET_UP_SECONDS = 10.0
"""A sandbox started ahead that is not set up after this long is given up."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHELL_OWN = frozenset({"OPTIND"})
"""Names the launcher's shell will not export as they are (dash refuses an OPTIND that is not a
number, and the script would stop there): such a job's environment goes through ``env``."""

Key = tuple[int, int, int, int, int, bool]


def script(argv: list[str], env: dict[str, str], cwd: str) -> bytes:
    """What the launcher runs: the job's environment, exactly ``env`` and ``PWD`` (which
    bwrap sets), then ``exec argv``."""
    env = {**env, "PWD": cwd}
    if all(_NAME.fullmatch(name) and name not in _SHELL_OWN for name in env):  # the usual case
        # The launcher was started with no environment: PWD is all it has.
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        return f"export {exports}\nexec {shlex.join(argv)}\n".encode()
    pairs = [f"{name}={value}" for name, value in env.items()]
    return f"exec {shlex.join([ENV, '-i', '--', *pairs, *argv])}\n".encode()


def key_of(sandbox: Sandbox, limits: StepLimits, timeout_seconds: float) -> Key:
    """Sandboxes differ by their limits (and network) only."""
    return (
        limits.memory_mb,
        sandbox.cpu_seconds(limits, timeout_seconds),
        limits.open_files,
        limits.processes,
        limits.file_mb,
        limits.network,
    )


@dataclass
class Box:
    """A started sandbox: its launcher process, working directory and uid."""

    process: asyncio.subprocess.Process
    work: Path
    uid: int
    key: Key
    claim: contextlib.ExitStack = field(repr=False)
    ready: asyncio.Task[bytes] = field(repr=False)
    """The launcher's first byte: ``READY`` once the sandbox is set up, else what bwrap
    said went wrong (or nothing: it died)."""
    started: float = field(default_factory=time.monotonic)
    link: Path | None = None
    """The step's name for ``work`` (a link), for a sandbox started ahead of the step."""
    set_up: bool = False
    """The step that took it has sent its job (or given up)."""

    @property
    def job(self) -> Path:
        return self.work / "job"

    def alive(self) -> bool:
        return self.process.returncode is None

    async def said(self) -> bytes:
        """What the sandbox wrote while it set itself up, for the step's log (nothing when
        all went well)."""
        first = await self.ready
        return b"" if first == READY else first

    async def send(self, text: bytes) -> None:
        """Give the launcher its script; it execs the job once the pipe closes."""
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(ConnectionError):  # it died: its exit code will say why
            stdin.write(text)
            await stdin.drain()
        stdin.close()

    async def discard(self) -> None:
        """Stop the sandbox (no job runs in it) and let its uid go."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # it leads its process group
        await asyncio.shield(self.process.wait())
        self.ready.cancel()
        self.claim.close()

    def remove(self) -> None:
        """Remove the working directory (nothing runs in it any more)."""
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)


class Sandboxes:
    """Started sandboxes by kind (limits), and the way to get one for a step.

    Sandboxes of a kind are kept started for the steps to come, as many as ran at once
    lately (at most ``spares``; none when ``spares`` is 0, or unsandboxed), and spent ones
    removed, by one housekeeper. It works one sandbox at a time, and only when it takes no
    core a step needs: never while a step is being set up, and while steps wait for
    Temporal (none runs) only once that has lasted ``LULL_SECONDS``, so it runs beside the
    steps' own jobs instead.
    """

    def __init__(self, sandbox: Sandbox, work_root: Path, *, spares: int = 0) -> None:
        self.sandbox = sandbox
        self.work_root = work_root
        self.spares = spares if sandbox.enabled else 0
        self._waiting: dict[Key, list[Box]] = {}
        self._spent: list[Box] = []
        self._busy: dict[Key, int] = {}
        self._wanted: dict[Key, int] = {}
        self._recipes: dict[Key, tuple[StepLimits, float]] = {}
        self._setting_up = 0
        self._running = 0
        self._since = time.monotonic()
        self._changed = asyncio.Event()
        self._housekeeping = False
        self._closed = False

    async def take(self, name: str, limits: StepLimits, timeout_seconds: float) -> Box:
        """A sandbox for the step ``name``: one started ahead (set up, or nearly), or one
        started now. The working directory of one started ahead is found by the step's name
        through a link (it cannot move: it may be being bound into the sandbox right now).
        Call ``going`` once the job is sent, ``done`` when the step is over."""
        key = key_of(self.sandbox, limits, timeout_seconds)
        self._recipes.setdefault(key, (limits, timeout_seconds))
        self._busy[key] = busy = self._busy.get(key, 0) + 1
        self._wanted[key] = min(self.spares, max(self._wanted.get(key, 1), busy))
        self._setting_up += 1
        self._changed.set()
        try:
            box = self._pop(key)
            if box is None:
                box = await self._start(key, limits, timeout_seconds, prefix=name)
            else:
                link = box.work.with_name(f"{name}-{box.work.name.rsplit('-', 1)[-1]}")
                if link != box.work:  # a step named "ready" has its own name already
                    try:
                        link.symlink_to(box.work.name)
                    except BaseException:
                        later(self._drop(box))  # never left running, its uid claimed
                        raise
                    box.link = link
        except BaseException:
            self._busy[key] -= 1
            self._setting_up -= 1
            raise
        self._housekeep()
        return box

    def going(self, box: Box) -> None:
        """The step that took ``box`` is set up: its job is sent (or it gave up)."""
        if box.set_up:
            return
        box.set_up = True
        self._setting_up -= 1
        self._running += 1
        self._changed.set()

    def done(self, box: Box) -> None:
        """The step is over and its sandbox stopped: its uid is free, its directory goes."""
        self.going(box)
        box.claim.close()
        self._busy[box.key] -= 1
        self._running -= 1
        self._since = time.monotonic()
        self._spent.append(box)
        self._retire()
        self._changed.set()
        self._housekeep()

    def _pop(self, key: Key) -> Box | None:
        waiting = self._waiting.get(key, [])
        for box in sorted(waiting, key=lambda b: not b.ready.done()):  # set up ones first
            waiting.remove(box)
            if box.alive():
                return box
            later(self._drop(box))  # it died while it waited (killed from outside)
        return None

    def _short(self) -> Key | None:
        """A kind of sandbox with fewer started than wanted."""
        for key, wanted in self._wanted.items():
            if len(self._waiting.get(key, [])) < wanted:
                return key
        return None

    def _housekeep(self) -> None:
        if not self._housekeeping and not self._closed:
            self._housekeeping = True
            later(self._keep())

    async def _moment(self) -> None:
        """Wait until housekeeping takes no core from a step (see the class), at most
        ``PATIENCE_SECONDS`` (a step may take long to set up: a big input)."""
        give_up = time.monotonic() + PATIENCE_SECONDS
        while (now := time.monotonic()) < give_up:
            self._changed.clear()
            if self._setting_up == 0:
                if self._running > 0 or now - self._since >= LULL_SECONDS:
                    return
                wait = min(self._since + LULL_SECONDS, give_up) - now
            else:
                wait = give_up - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)

    async def _keep(self) -> None:
        """Remove spent sandboxes' directories and start sandboxes, one at a time."""
        try:
            while not self._closed:
                if self._spent:
                    await self._moment()
                    spent, self._spent = self._spent, []
                    await asyncio.to_thread(_remove, spent)
                    continue
                key = self._short()
                if key is None:
                    return
                await self._moment()
                if not await self._spare(key):
                    return
        finally:
            self._housekeeping = False

    async def _spare(self, key: Key) -> bool:
        """Start a sandbox of kind ``key`` and wait until it is set up; False when it cannot
        be (a step that starts its own will say why)."""
        limits, timeout_seconds = self._recipes[key]
        box = await self._start(key, limits, timeout_seconds, prefix="ready")
        if self._closed:
            await self._drop(box)
            return False
        self._waiting.setdefault(key, []).append(box)
        try:
            async with asyncio.timeout(SET_UP_SECONDS):
                first = await asyncio.shield(box.ready)
        except Exception:  # it died, or hangs
            first = b""
        if first != READY and box in self._waiting[key]:
            self._waiting[key].remove(box)
            await self._drop(box)
            return False
        return True

    def _retire(self) -> None:
        """Stop started sandboxes nobody took for a long time, and start no more of them."""
        now = time.monotonic()
        for key, waiting in self._waiting.items():
            old = [box for box in waiting if now - box.started > IDLE_SECONDS]
            for box in old:
                waiting.remove(box)
                later(self._drop(box))
            if old:
                self._wanted[key] = 0

    async def _drop(self, box: Box) -> None:
        await box.discard()
        await asyncio.to_thread(box.remove)

    async def _start(
        self, key: Key, limits: StepLimits, timeout_seconds: float, *, prefix: str
    ) -> Box:
        claim = contextlib.ExitStack()
        uid = claim.enter_context(self.sandbox.claim())
        try:
            work = await asyncio.to_thread(self._make_dirs, prefix, uid)
            try:
                process = await self._spawn(work / "job", limits, timeout_seconds, uid)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        except BaseException:
            claim.close()
            raise
        assert process.stdout is not None
        ready = asyncio.ensure_future(process.stdout.read(1))
        return Box(process, work, uid, key, claim, ready)

    def _make_dirs(self, prefix: str, uid: int) -> Path:
        work = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.work_root))
        job = work / "job"
        for folder in (job, *(job / part for part in ("tmp", "inputs", "outputs", "code"))):
            folder.mkdir()
        self.sandbox.prepare(self._place(job), uid, [job, job / "tmp", job / "code"])
        return work

    def _place(self, job: Path) -> Placement:
        return Placement(job, INSIDE if self.sandbox.enabled else job)

    async def _spawn(
        self, job: Path, limits: StepLimits, timeout_seconds: float, uid: int
    ) -> asyncio.subprocess.Process:
        argv = self.sandbox.command(
            LAUNCHER,
            place=self._place(job),
            limits=limits,
            env={},
            uid=uid,
            timeout_seconds=timeout_seconds,
            cwd=job / "code",
        )
        if not self.sandbox.enabled:
            argv = with_parent(argv)
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=job / "code",
            env={},  # the launcher is given the job's environment with its script
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )

    async def close(self) -> None:
        """Stop every sandbox still waiting and remove spent ones (the worker stops)."""
        self._closed = True
        boxes = [box for waiting in self._waiting.values() for box in waiting]
        self._waiting.clear()
        for box in boxes:
            await self._drop(box)
        spent, self._spent = self._spent, []
        await asyncio.to_thread(_remove, spent)


def _remove(boxes: list[Box]) -> None:
    for box in boxes:
        box.remove()


SETPRIV = shutil.which("setpriv")


def with_parent(argv: list[str]) -> list[str]:
    """Unsandboxed (GALLERY_UNSAFE_NO_SANDBOX): the job gets SIGKILL if the worker that started
    it dies (in the sandbox, bwrap's --die-with-parent does this).

    ``setpriv --pdeathsig`` (util-linux) sets it and execs the job, so the worker can start the
    process without a Python ``preexec_fn``, which would force a slow fork of the whole worker
    and block its event loop for ~10 ms per step.
    """
    if SETPRIV is None:
        return argv
    return [SETPRIV, "--pdeathsig", "KILL", "--", *argv]
