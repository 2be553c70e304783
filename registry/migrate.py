"""Bring a database to the newest schema with Alembic (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from registry.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Run pending migrations on the database's own engine."""

    logging.getLogger("alembic").setLevel(logging.WARNING)

    def _upgrade(connection: Any) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)
    if db.is_sqlite:
        # SQLite plans by statistics only when it has them: refresh what changed.
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA optimize=0x10002")
