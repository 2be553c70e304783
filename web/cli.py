"""``gallery up``: everything on the embedded default, in one command."""

from __future__ import annotations

import argparse
import asyncio
import sys

from registry.bootstrap import ensure_admin
from registry.context import Context
from registry.migrate import upgrade
from registry.settings import Settings

PASSWORD_FILE = "initial-admin-password"


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
    import uvicorn

    from web.app import create_app

    settings = Settings()
    host, port = args.host or settings.host, args.port or settings.port
    password = asyncio.run(_prepare(settings))
    url = f"http://{host}:{port}"
    print(f"Gallery data in {settings.data_dir}", flush=True)
    if password is not None:
        path = settings.data_dir / PASSWORD_FILE
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        print(f"Created the first administrator: admin / {password}  (also in {path})")
    print(f"Gallery is starting on {url}")
    print(f"Sign in from the shell:  gallery login --url {url} --username admin")
    print("Press Ctrl+C to stop.", flush=True)
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0
