"""Session fixtures: a real Gallery server per database backend (SQLite and PostgreSQL), and
the runner (Temporal dev server + worker) beside one, for every test directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.databases import postgres_database, postgres_unavailable, sqlite_url
from tests.support.gallery import Gallery, fast_settings, running_gallery
from tests.support.runner import (
    TemporalServer,
    WorkerProcess,
    running_worker,
    stop_services,
    temporal_server,
)

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


# --- the runner: Temporal dev server, Gallery and a worker process ---------------------------


@dataclass
class Runtime:
    gallery: Gallery
    temporal: TemporalServer
    worker: WorkerProcess


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalServer]:
    with temporal_server(tmp_path_factory.mktemp("temporal")) as server:
        yield server


@pytest.fixture(scope="session", params=BACKENDS)
def runtime(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    temporal: TemporalServer,
) -> Iterator[Runtime]:
    """Gallery on each backend, a worker process, one shared dev server (own task queue)."""
    data_dir: Path = tmp_path_factory.mktemp(f"runtime-{request.param}")
    common = {
        "data_dir": data_dir,
        "temporal_address": temporal.address,
        "task_queue": f"test-{uuid.uuid4().hex[:8]}",
    }
    try:
        if request.param == "sqlite":
            settings = fast_settings(database_url=sqlite_url(data_dir), **common)
            with running_gallery(settings, "sqlite") as gallery, running_worker(settings) as worker:
                yield Runtime(gallery, temporal, worker)
            return
        require_postgres()
        with postgres_database() as url:
            settings = fast_settings(database_url=url, **common)
            with (
                running_gallery(settings, "postgres") as gallery,
                running_worker(settings) as worker,
            ):
                yield Runtime(gallery, temporal, worker)
    finally:
        stop_services(data_dir)  # deployed services outlive their worker on purpose
