"""Child-process entry point: serve the real Gallery app under uvicorn on an inherited socket.

Run as ``python -m tests.bench.serve_app FD``; settings come from ``GALLERY_*`` environment
variables (``registry.settings.Settings``). The parent binds the loopback socket (port 0, so
nobody can take the port between choosing and binding) and hands it over with ``pass_fds``.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import signal
import socket
import sys

import uvicorn

from registry.settings import Settings
from web.app import create_app


def main() -> None:
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
    app = create_app(Settings())
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, timeout_keep_alive=60
    )
    server = uvicorn.Server(config)
    profile_to = os.environ.get("BENCH_PROFILE")  # a path: cProfile the whole server run
    sample_to = os.environ.get("BENCH_SAMPLE")  # a path: sample all threads' stacks
    if not profile_to and not sample_to:
        asyncio.run(server.serve(sockets=[sock]))
        return
    # uvicorn restores the previous SIGTERM handler and re-raises the signal after a graceful
    # shutdown; a no-op handler lets us reach the dump below instead of dying there.
    signal.signal(signal.SIGTERM, lambda *_: None)
    if sample_to:
        from tests.bench.sampler import Sampler

        sampler = Sampler(sample_to)
        sampler.start()
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sampler.stop()
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


if __name__ == "__main__":
    main()
