"""Reads on a step's critical path (its access check, its execution's workspace) in one call.

On SQLite a read through the async session is a handful of hops between the event loop and
the driver's thread; with several steps starting at once on a busy loop each hop waits its
turn. Here the whole query runs as one call on a worker thread over a synchronous connection.
PostgreSQL keeps the async session (one round trip either way).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.sql import Executable

from registry.db import Database


class Reads:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sync: Engine | None = None
        if db.is_sqlite:
            self._sync = _sqlite_reader(db.url.replace("+aiosqlite", "", 1))

    async def scalar(self, query: Executable, values: dict[str, Any] | None = None) -> Any:
        if self._sync is not None:
            return await asyncio.to_thread(self._scalar, query, values)
        async with self.db.read() as session:
            return await session.scalar(query, values)

    async def first(self, query: Executable) -> Any:
        if self._sync is not None:
            return await asyncio.to_thread(self._first, query)
        async with self.db.read() as session:
            return (await session.execute(query)).first()

    def _scalar(self, query: Executable, values: dict[str, Any] | None) -> Any:
        assert self._sync is not None
        with self._sync.connect() as connection:
            return connection.execute(query, values).scalar()

    def _first(self, query: Executable) -> Any:
        assert self._sync is not None
        with self._sync.connect() as connection:
            return connection.execute(query).first()

    def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()


def _sqlite_reader(url: str) -> Engine:
    """Read-only connections in autocommit mode: each query is its own snapshot, with no
    BEGIN and ROLLBACK around it."""
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine
