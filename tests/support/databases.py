"""Fresh databases for tests: a SQLite file, or a throw-away PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

PG_ADMIN_URL = os.environ.get("GALLERY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc.__class__.__name__}: {exc})"
    return None


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"gallery_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'gallery.db'}"
