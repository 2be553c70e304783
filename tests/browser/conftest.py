"""Fixtures of the browser suite: one Gallery with a runner (Temporal dev server + worker) and
one headless Chromium per session, a fresh browser context (cookies, storage) per test.

The suite runs on SQLite only: the pages call the same services as the API, whose tests cover
both databases. Every browser test is in one xdist group, so a parallel run starts the stack
and the browser once.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.demo import Demo, seed
from tests.browser.pipelines import Published, job_dir, journey, publish
from tests.conftest import Runtime
from tests.support.browser import DESKTOP, Dialogs, chromium, chromium_missing
from tests.support.databases import sqlite_url
from tests.support.gallery import Gallery, fast_settings, running_gallery
from tests.support.runner import TemporalServer, running_worker, stop_services

HERE = Path(__file__).parent

# A page may take a few seconds on a loaded 2-core CI machine (the suite runs beside others):
# assertions wait up to 15 s for what they expect (they pass as soon as it is there).
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _in_suite(item):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, temporal: TemporalServer) -> Iterator[Runtime]:
    """Gallery on SQLite and a worker process, on the session's Temporal dev server (own task
    queue), all on free ports."""
    data_dir = tmp_path_factory.mktemp("browser-gallery")
    settings = fast_settings(
        data_dir=data_dir,
        database_url=sqlite_url(data_dir),
        temporal_address=temporal.address,
        task_queue=f"browser-{uuid.uuid4().hex[:8]}",
    )
    try:
        with running_gallery(settings, "sqlite") as gallery, running_worker(settings) as worker:
            yield Runtime(gallery, temporal, worker)
    finally:
        stop_services(data_dir)  # the demo data's service outlives its worker on purpose


@pytest.fixture(scope="session")
def gallery(stack: Runtime) -> Gallery:
    """The suite's one Gallery (in place of the per-backend ``gallery`` of tests/conftest)."""
    return stack.gallery


class _Chromium:
    """The one Chromium of a run of the browser tests, started by the first and closed after
    the last (see ``pytest_runtest_teardown``).

    Playwright's synchronous API marks its event loop as running in the main thread for as
    long as it is started, and ``asyncio.run`` refuses to start there meanwhile: the tests
    after the browser tests (in the same process, under xdist too) need it closed.
    """

    running: contextlib.ExitStack | None = None
    browser: Browser | None = None

    @classmethod
    def get(cls) -> Browser:
        if cls.browser is None:
            cls.running = contextlib.ExitStack()
            cls.browser = cls.running.enter_context(chromium())
        return cls.browser

    @classmethod
    def close(cls) -> None:
        if cls.running is not None:
            cls.running.close()
        cls.running = cls.browser = None


def _in_suite(item: pytest.Item | None) -> bool:
    return item is not None and HERE in Path(item.path).parents


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the test's own fixtures are gone: close Chromium when no browser test is next."""
    if _in_suite(item) and not _in_suite(nextitem):
        _Chromium.close()


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Browser:
    """The shared Chromium, started after the Gallery (see ``_Chromium``); without Chromium
    the test is skipped before anything starts (and fails under CI)."""
    missing = chromium_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser suite: {missing}")
        pytest.skip(missing)
    request.getfixturevalue("stack")
    return _Chromium.get()


@pytest.fixture
def context(browser: Browser, gallery: Gallery) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size, relative URLs on the Gallery."""
    fresh = browser.new_context(base_url=gallery.base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    fresh.set_default_timeout(20_000)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def page(context: BrowserContext, dialogs: Dialogs) -> Page:
    """A tab of the test's context; any alert/confirm/prompt it opens is recorded."""
    tab = context.new_page()
    dialogs.watch(tab)
    return tab


@pytest.fixture
def page_without_js(browser: Browser, gallery: Gallery) -> Iterator[Page]:
    """A tab of a fresh profile with JavaScript off: the pages must work as plain forms."""
    fresh = browser.new_context(
        base_url=gallery.base_url,
        viewport=DESKTOP,  # type: ignore[arg-type]
        java_script_enabled=False,
    )
    fresh.set_default_timeout(20_000)
    try:
        yield fresh.new_page()
    finally:
        fresh.close()


@pytest.fixture
def user(gallery: Gallery) -> tuple[str, str]:
    """A new user's name and password."""
    return gallery.new_user("b")


@pytest.fixture(scope="session")
def publisher(gallery: Gallery) -> tuple[str, str]:
    """The user who publishes the suite's shared workflow."""
    return gallery.new_user("pub")


@pytest.fixture(scope="session")
def public_workflow(
    gallery: Gallery, publisher: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Published:
    """A public workflow asset (the journey pipeline) published by ``publisher``."""
    code = job_dir(tmp_path_factory.mktemp("browser-code"))
    return publish(
        gallery.login(*publisher),
        journey(code),
        title="Shared journey " + uuid.uuid4().hex[:6],
        tags=["browser"],
    )


@pytest.fixture(scope="session")
def demo(gallery: Gallery, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The screenshots' demo data (tests/browser/demo.py) on the suite's Gallery."""
    suffix = uuid.uuid4().hex[:6]
    return seed(
        gallery,
        tmp_path_factory.mktemp("demo-code"),
        publisher="alice" + suffix,
        consumer="bob" + suffix,
    )
