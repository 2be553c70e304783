"""Session fixtures: a real Gallery server per database backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import postgres_database, postgres_unavailable, sqlite_url
from tests.support.gallery import Gallery, fast_settings, running_gallery

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must test PostgreSQL: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=BACKENDS)
def gallery(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gallery]:
    """A running server on a fresh database of each backend."""
    data_dir: Path = tmp_path_factory.mktemp(f"gallery-{request.param}")
    if request.param == "sqlite":
        settings = fast_settings(data_dir=data_dir, database_url=sqlite_url(data_dir))
        with running_gallery(settings, "sqlite") as running:
            yield running
        return
    require_postgres()
    with postgres_database() as url:
        settings = fast_settings(data_dir=data_dir, database_url=url)
        with running_gallery(settings, "postgres") as running:
            yield running
