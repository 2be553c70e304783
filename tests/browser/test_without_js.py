"""With JavaScript off the console is plain forms and redirects: subscribe, Run, configure (a
bad value comes back next to its field, the other values kept) and start, continue a waiting
step, delete a workflow by typing its name (the server checks it)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.pipelines import Published
from tests.support.browser import path_of, sign_in

RUN_SECONDS = 90
"""How long a run may take to get somewhere (reloading to see it): not a speed requirement."""


def _reload_until(page: Page, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + RUN_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"not there after {RUN_SECONDS}s: {page.url}"
        page.wait_for_timeout(300)
        page.reload()


def _run_status(page: Page) -> str:
    return page.locator("[data-run-status]").inner_text()


def test_the_console_works_as_plain_forms(
    page_without_js: Page, public_workflow: Published, user: tuple[str, str]
) -> None:
    page = page_without_js
    sign_in(page, *user)
    page.goto(f"/assets/{public_workflow.content_id}")
    if page.get_by_label("I accept these terms").count():
        page.get_by_label("I accept these terms").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()

    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Run v")).click()
    assert re.fullmatch(r"/workflows/[0-9a-f-]{36}\?missing=score", path_of(page)), page.url
    workflow_page = path_of(page).split("?")[0]
    page.get_by_role("spinbutton", name=re.compile(r"^score")).fill("0.5")
    page.get_by_role("textbox", name=re.compile(r"^options")).fill('{"epochs": ')
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Save and start").click()
    assert answer.value is not None and answer.value.status == 422
    options = page.get_by_role("textbox", name=re.compile(r"^options"))
    expect(options).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".cfg-field.invalid .field-error")).to_be_visible()
    expect(page.get_by_role("spinbutton", name=re.compile(r"^score"))).to_have_value("0.5")

    options.fill('{"epochs": 3}')
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start").click()
    assert re.fullmatch(r"/executions/[0-9a-f-]{36}", path_of(page)), page.url
    _reload_until(page, lambda: _run_status(page) == "waiting for input")

    page.goto("/todo")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Give input")).click()
    page.locator("#continue").get_by_label("release_name").fill("plain-forms")
    with page.expect_navigation():
        page.locator("#continue").get_by_role("button", name="Continue").click()
    _reload_until(page, lambda: _run_status(page) == "succeeded")

    # deleting a workflow takes its name, typed: the server checks it
    page.goto(workflow_page)
    name = page.get_by_role("heading", level=1).inner_text()
    delete = page.locator("form[action$='/delete']")
    delete.get_by_label(re.compile("to confirm")).fill(name + "x")
    with page.expect_navigation() as answer:
        delete.get_by_role("button", name=re.compile("^Delete")).click()
    assert answer.value is not None and 400 <= answer.value.status < 500
    expect(page.locator("#delete .field-error")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)

    delete = page.locator("form[action$='/delete']")
    delete.get_by_label(re.compile("to confirm")).fill(name)
    with page.expect_navigation():
        delete.get_by_role("button", name=re.compile("^Delete")).click()
    assert path_of(page).startswith("/workspaces/"), page.url
    page.goto(workflow_page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
