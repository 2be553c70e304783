"""``gallery up``: everything on the embedded default, in one command."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import threading

from registry.bootstrap import ensure_admin, save_initial_password
from registry.context import Context
from registry.migrate import upgrade
from registry.settings import Settings
from runner.embedded import start_dev_server, stop, wait_until_listening


async def _prepare(settings: Settings) -> str | None:
    ctx = Context.from_settings(settings)
    try:
        await upgrade(ctx.db)
        return await ensure_admin(ctx)
    finally:
        await ctx.db.dispose()


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
    # SIGTERM (a service manager's stop, `kill`) ends `up` the way Ctrl+C does: through the
    # clean-up below, so its worker and Temporal server stop with it instead of living on.
    signal.signal(signal.SIGTERM, _terminated)
    temporal = None
    if settings.temporal_address is None:
        # Started first: it comes up while the database is migrated.
        temporal = start_dev_server(
            settings.data_dir, settings.temporal_port, settings.data_dir / "temporal.log"
        )
    try:
        return _serve(settings, host, port, temporal)
    finally:
        if temporal is not None:
            stop(temporal)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _announce(port: int, temporal: subprocess.Popen[bytes]) -> None:
    try:
        wait_until_listening(port, temporal)
    except RuntimeError as exc:
        print(f"error: {exc}; see temporal.log in the data dir", file=sys.stderr, flush=True)
        return
    print(f"Temporal dev server on 127.0.0.1:{port}", flush=True)


def _serve(
    settings: Settings, host: str, port: int, temporal: subprocess.Popen[bytes] | None
) -> int:
    password = asyncio.run(_prepare(settings))
    worker = _start_worker(settings)
    try:
        return _run_app(settings, host, port, temporal, password)
    finally:
        _stop_child(worker)


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """A worker for executions, as a child process (it connects once Temporal is up)."""
    log = settings.data_dir / "worker.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sdk.cli", "worker"], stdout=out, stderr=subprocess.STDOUT
        )


def _stop_child(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _announce_first_admin(settings: Settings, password: str) -> None:
    """Keep the first administrator's password in the data dir (owner-only) and say so."""
    path = save_initial_password(settings.data_dir, password)
    print(f"Created the first administrator: admin / {password}  (also in {path})")
    print(
        "  (the file is removed when admin first signs in; change the password with "
        "'gallery passwd')"
    )


def _run_app(
    settings: Settings,
    host: str,
    port: int,
    temporal: subprocess.Popen[bytes] | None,
    password: str | None,
) -> int:
    import uvicorn

    from web.app import create_app

    url = f"http://{host}:{port}"
    print(f"Gallery data in {settings.data_dir}", flush=True)
    if temporal is not None:
        # Say when it is up, without holding back the web app (it does not need it to start).
        threading.Thread(
            target=_announce, args=(settings.temporal_port, temporal), daemon=True
        ).start()
    else:
        print(f"Temporal at {settings.temporal_address}")
    if password is not None:
        _announce_first_admin(settings, password)
    print(f"A worker runs executions (log: {settings.data_dir / 'worker.log'})")
    print(f"Gallery is starting on {url}")
    print(f"Sign in from the shell:  gallery login --url {url} --username admin")
    print("Press Ctrl+C to stop.", flush=True)
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0
