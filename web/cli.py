"""``gallery up``: everything on the embedded default, in one command, supervised.

The main thread starts the Temporal dev server and a worker as child processes and watches
them: a child that dies is restarted with one line saying so, and one that dies ``CRASHES``
times within ``CRASH_WINDOW_SECONDS`` makes ``up`` give up, say why and exit non-zero. The
web app runs under uvicorn in a thread, on a socket bound before anything starts, so a taken
port is one clear error instead of half a Gallery. Children are started through
``setpriv --pdeathsig KILL`` from the main thread, so they die with ``up`` however it ends,
SIGKILL included; on SIGINT/SIGTERM ``up`` stops them itself.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import errno
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from registry.bootstrap import ensure_admin, save_initial_password
from registry.context import Context
from registry.migrate import upgrade
from registry.settings import Settings
from runner.embedded import dying_with_parent, start_dev_server, stop, wait_until_listening
from web import seed

CRASHES = 5
"""Deaths of one child within ``CRASH_WINDOW_SECONDS`` after which ``up`` gives up."""
CRASH_WINDOW_SECONDS = 300.0
MAX_RESTART_DELAY = 8.0
POLL_SECONDS = 1.0
"""The supervisor wakes at least this often (children are watched through pidfds)."""
WEB_STOP_SECONDS = 10.0
TEMPORAL_SETTING = "GALLERY_TEMPORAL_PORT"


class PortTaken(Exception):
    """A port ``up`` needs is in use; the message names it and, if found, who holds it."""


async def _prepare(settings: Settings) -> tuple[str | None, seed.Account | None]:
    """Migrate; on the first run, the first administrator (its password) and, unless turned
    off, the system account that publishes the demo."""
    ctx = Context.from_settings(settings)
    try:
        await upgrade(ctx.db)
        password = await ensure_admin(ctx)
        account = None
        if password is not None and seed.wanted():
            account = await seed.system_account(ctx)
        return password, account
    finally:
        await ctx.db.dispose()


def _seed_demo(settings: Settings, url: str, account: seed.Account) -> None:
    """Publish the demo once the app answers (in the background: nothing waits for it)."""

    async def forget() -> None:
        ctx = Context.from_settings(settings)
        try:
            await seed.forget_token(ctx, account)
        finally:
            await ctx.db.dispose()

    try:
        seed.wait_until_up(url)
        seed.publish(url, account.token, lambda line: print(line, flush=True))
    except Exception as exc:  # the demo is a convenience: say why it is missing, go on
        print(f"warning: the demo was not seeded: {exc}", file=sys.stderr, flush=True)
    finally:
        asyncio.run(forget())


def up(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery up", description="Run Gallery on the embedded default (SQLite + local blobs)."
    )
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    settings = Settings()
    settings.ensure_data_dir()
    host, port = args.host or settings.host, args.port or settings.port
    embedded = settings.temporal_address is None
    # The ports first: when one is taken, nothing is started.
    try:
        web_socket = _claim_ports(host, port, settings.temporal_port if embedded else None)
    except PortTaken as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    # SIGTERM (a service manager's stop, `kill`) ends `up` the way Ctrl+C does: through the
    # clean-up below, so its worker and Temporal server stop with it instead of living on.
    signal.signal(signal.SIGTERM, _terminated)
    supervisor = Supervisor()
    web: WebApp | None = None
    try:
        temporal = None
        if embedded:
            # Started first: it comes up while the database is migrated.
            temporal = supervisor.start(_temporal_child(settings))
        password, account = asyncio.run(_prepare(settings))
        supervisor.start(
            Child("worker", settings.data_dir / "worker.log", lambda: _start_worker(settings))
        )
        web = WebApp(settings, web_socket, embedded)
        web.start()
        _announce_start(settings, host, port, password, temporal)
        if account is not None:
            threading.Thread(
                target=_seed_demo,
                args=(settings, f"http://{_local(host)}:{port}", account),
                daemon=True,
            ).start()
        return supervisor.watch(web)
    finally:
        if web is not None:
            web.stop()
        web_socket.close()
        supervisor.stop_all()


def _local(host: str) -> str:
    """An address to reach the app from this machine (a wildcard bind is reached locally)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _claim_ports(host: str, port: int, temporal_port: int | None) -> socket.socket:
    """The web app's socket, bound; and a check that the Temporal server's port is free."""
    web_socket = _bind_web(host, port)
    if temporal_port is not None:
        try:
            _check_free("127.0.0.1", temporal_port, "the Temporal dev server", TEMPORAL_SETTING)
        except PortTaken:
            web_socket.close()
            raise
    return web_socket


def _temporal_child(settings: Settings) -> Child:
    log = settings.data_dir / "temporal.log"
    return Child(
        "Temporal dev server",
        log,
        lambda: start_dev_server(
            settings.data_dir, settings.temporal_port, log, die_with_parent=True
        ),
        port=settings.temporal_port,
    )


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """A worker for executions, as a child process (it connects once Temporal is up)."""
    log = settings.data_dir / "worker.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            dying_with_parent([sys.executable, "-m", "sdk.cli", "worker"]),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class Child:
    """A child process ``up`` keeps running: started by ``spawn``, restarted when it dies."""

    def __init__(
        self,
        name: str,
        log: Path,
        spawn: Callable[[], subprocess.Popen[bytes]],
        *,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self.spawn = spawn
        self.port = port  # the port it listens on
        self.process: subprocess.Popen[bytes] | None = None
        self.pidfd: int | None = None
        self.restart_at: float | None = None
        self.deaths: collections.deque[float] = collections.deque()

    def launch(self) -> None:
        self.restart_at = None
        self.process = self.spawn()
        try:
            self.pidfd = os.pidfd_open(self.process.pid)
        except OSError:  # no pidfds (old kernel), or it is already gone: polled instead
            self.pidfd = None

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def forget(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        self.forget()


class Supervisor:
    """Restarts children that die; gives up on one that keeps dying."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        self.children.append(child)
        child.launch()
        return child

    def watch(self, web: WebApp) -> int:
        """Until the web app stops or a child cannot be kept running (1); signals (SIGINT,
        SIGTERM) end it by raising."""
        while True:
            if not web.thread.is_alive():
                print(
                    "error: the web app stopped unexpectedly (see the messages above); "
                    "stopping Gallery",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            now = time.monotonic()
            for child in self.children:
                if child.exited():
                    failure = self._died(child, now)
                    if failure is not None:
                        print(f"error: {failure}", file=sys.stderr, flush=True)
                        return 1
                due = child.restart_at is not None and child.restart_at <= now
                if child.process is None and due:
                    try:
                        child.launch()
                    except OSError as exc:
                        message = f"cannot restart the {child.name}: {exc}; stopping Gallery"
                        print(f"error: {message}", file=sys.stderr, flush=True)
                        return 1
            self._wait(web)

    def _died(self, child: Child, now: float) -> str | None:
        """Report a dead child and schedule its restart; a reason to give up, if any."""
        assert child.process is not None
        pid, how = child.process.pid, _exit_status(child.process.returncode)
        child.forget()
        child.deaths.append(now)
        while child.deaths and child.deaths[0] < now - CRASH_WINDOW_SECONDS:
            child.deaths.popleft()
        if len(child.deaths) >= CRASHES:
            return (
                f"the {child.name} died {len(child.deaths)} times within "
                f"{CRASH_WINDOW_SECONDS / 60:g} minutes (last: pid {pid} {how}); giving up "
                f"and stopping Gallery (see {child.log})"
            )
        if child.port is not None:  # taken by another process meanwhile: restarts are futile
            try:
                _check_free("127.0.0.1", child.port, f"the {child.name}", None)
            except PortTaken as exc:
                return (
                    f"the {child.name} (pid {pid}) {how} and cannot be restarted: {exc}; "
                    "stopping Gallery"
                )
        delay = (
            0.0
            if len(child.deaths) == 1
            else min(2.0 ** (len(child.deaths) - 2), MAX_RESTART_DELAY)
        )
        child.restart_at = now + delay
        when = "now" if delay == 0 else f"in {delay:g} s"
        print(
            f"gallery up: the {child.name} (pid {pid}) {how}; restarting it {when} "
            f"(see {child.log})",
            file=sys.stderr,
            flush=True,
        )
        return None

    def _wait(self, web: WebApp) -> None:
        """Sleep until a child exits, the web app stops, a restart is due or a signal comes."""
        timeout = POLL_SECONDS
        fds = [web.stopped_r]
        for child in self.children:
            if child.pidfd is not None:
                fds.append(child.pidfd)
            elif child.process is not None:
                timeout = min(timeout, 0.2)
            if child.restart_at is not None:
                timeout = min(timeout, max(0.0, child.restart_at - time.monotonic()))
        select.select(fds, [], [], timeout)

    def stop_all(self) -> None:
        """The worker first (it finishes with Temporal still there), then the rest."""
        for child in reversed(self.children):
            child.stop()


class WebApp:
    """The web app under uvicorn, in a thread (the main thread supervises the children)."""

    def __init__(self, settings: Settings, sock: socket.socket, embedded: bool) -> None:
        import uvicorn

        from registry.app import require_temporal
        from web.app import create_app

        app = create_app(settings)
        if embedded:
            require_temporal(app)  # /health is a 503 while the Temporal server it runs is down
        self.sock = sock
        self.server: uvicorn.Server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.stopped_r, self._stopped_w = os.pipe()
        self.thread = threading.Thread(target=self._run, name="gallery-web", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        finally:
            with contextlib.suppress(OSError):  # wakes the supervisor
                os.write(self._stopped_w, b"x")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WEB_STOP_SECONDS)
        if self.thread.is_alive():  # a request that does not end: stop without waiting for it
            self.server.force_exit = True
            self.thread.join(WEB_STOP_SECONDS)
        os.close(self.stopped_r)
        os.close(self._stopped_w)


def _exit_status(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def _bind_web(host: str, port: int) -> socket.socket:
    """The web app's listening socket, bound now so that nothing can take the port meanwhile."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(_taken(port, "the web app", "--port / GALLERY_PORT")) from None
        raise PortTaken(
            f"cannot listen on {host}:{port} for the web app: {exc.strerror or exc}"
        ) from None
    sock.set_inheritable(False)
    return sock


def _check_free(host: str, port: int, what: str, setting: str | None) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(_taken(port, what, setting)) from None
            raise PortTaken(f"cannot use {host}:{port} for {what}: {exc.strerror or exc}") from None


def _taken(port: int, what: str, setting: str | None) -> str:
    holder = port_holder(port)
    by = f" by {holder}" if holder else ""
    change = f"stop it or choose another port ({setting})" if setting else "stop it"
    return f"port {port}, needed for {what}, is already in use{by}; {change}"


def port_holder(port: int) -> str | None:
    """``pid N (command line)`` of the process listening on TCP ``port``, when it can be seen
    (sockets from /proc/net/tcp*, their owner from /proc/*/fd)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":  # LISTEN
                with contextlib.suppress(ValueError):
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return f"pid {proc.name} ({_command_line(proc)})"
        except OSError:
            continue
    return "another user's process"


def _command_line(proc: Path) -> str:
    try:
        words = (proc / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    line = " ".join(word.decode(errors="replace") for word in words)
    return line if len(line) <= 120 else line[:117] + "..."


def _announce(port: int, temporal: subprocess.Popen[bytes]) -> None:
    try:
        wait_until_listening(port, temporal)
    except RuntimeError as exc:
        print(f"error: {exc}; see temporal.log in the data dir", file=sys.stderr, flush=True)
        return
    print(f"Temporal dev server on 127.0.0.1:{port}", flush=True)


def _announce_first_admin(settings: Settings, password: str) -> None:
    """Keep the first administrator's password in the data dir (owner-only) and say so."""
    path = save_initial_password(settings.data_dir, password)
    print(f"Created the first administrator: admin / {password}  (also in {path})")
    print(
        "  (the file is removed when admin first signs in; change the password with "
        "'gallery passwd')"
    )


def _announce_start(
    settings: Settings, host: str, port: int, password: str | None, temporal: Child | None
) -> None:
    url = f"http://{host}:{port}"
    print(f"Gallery data in {settings.data_dir}", flush=True)
    if temporal is not None and temporal.process is not None:
        # Say when it is up, without holding back the web app (it does not need it to start).
        threading.Thread(
            target=_announce, args=(settings.temporal_port, temporal.process), daemon=True
        ).start()
    elif temporal is None:
        print(f"Temporal at {settings.temporal_address}")
    if password is not None:
        _announce_first_admin(settings, password)
    print(f"A worker runs executions (log: {settings.data_dir / 'worker.log'})")
    print(f"Gallery is starting on {url}  (open it in a browser and sign in)")
    print(f"Sign in from the shell:  gallery login --url {url} --username admin")
    print("Press Ctrl+C to stop.", flush=True)
