"""The whole journey as two users, in the browser only (issue 10's "Must hold").

The publisher releases a workflow (a waiting step, metrics); the consumer signs in, searches,
opens the asset page, subscribes (accepting its terms), runs it with one click, lands on the
configuration form for the parameter without a default, saves and starts; the execution page
follows the run live until its export step waits; the to-do list leads to the Continue form;
the run succeeds and its metrics are charts. A second run fails on purpose, is retried with a
changed value through the Retry form, and goes through; the two runs are compared; the to-do
list is empty at the end.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pipelines import Published, job_dir, journey, publish
from tests.support.browser import Dialogs, path_of, sign_in
from tests.support.gallery import Gallery

RUN_TIMEOUT = 90_000
"""How long a run's step may take to get somewhere (ms): the sandbox and Temporal on a
loaded 2-core machine, not a speed requirement."""


@pytest.fixture(scope="module")
def shared(
    gallery: Gallery, publisher: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Published:
    word = "journey" + uuid.uuid4().hex[:6]
    return publish(
        gallery.login(*publisher),
        journey(job_dir(tmp_path_factory.mktemp("journey-code")), name="image_classifier"),
        title=f"Image classifier {word}",
        description="Trains a classifier; export waits for someone to name the release.",
        terms="Use it for testing only.",
        tags=["vision"],
    )


def _execution_id(page: Page) -> str:
    found = re.fullmatch(r"/executions/([0-9a-f-]{36})(\?.*)?", path_of(page))
    assert found, page.url
    return found.group(1)


def _node(page: Page, step: str) -> object:
    return page.locator(f'svg.dag g.node[data-step="{step}"]')


def _waits_live(page: Page, step: str, status: str) -> None:
    """The execution page, left open, shows ``step`` reach ``status`` (no reload)."""
    expect(page.locator(f'svg.dag g.node[data-step="{step}"]')).to_have_attribute(
        "data-status", status, timeout=RUN_TIMEOUT
    )


def _continue_export(page: Page, release_name: str) -> None:
    """On the export step's panel: give the release name through the Continue form."""
    form = page.locator("#continue")
    expect(form).to_be_visible()
    form.get_by_label("release_name").fill(release_name)
    with page.expect_navigation():
        form.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-run-status]")).to_have_text("succeeded", timeout=RUN_TIMEOUT)


def test_two_users_from_the_catalog_to_a_compared_retried_run(
    page: Page,
    dialogs: Dialogs,
    gallery: Gallery,
    shared: Published,
    user: tuple[str, str],
) -> None:
    sign_in(page, *user)
    api = gallery.login(*user)

    # search the catalog and open the asset
    page.get_by_label("Search", exact=True).fill(shared.title.split()[-1])
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 asset", exact=False).first).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name=shared.title).click()
    assert path_of(page) == f"/assets/{shared.content_id}"
    expect(page.locator("svg.dag g.node")).to_have_count(3)

    # subscribe: the terms must be accepted first
    with page.expect_navigation():
        page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".field-error").first).to_be_visible()
    page.get_by_label("I accept these terms").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
    assert shared.content_id in str(api.get("/subscriptions").json())

    # Run, one click: score has no default, so the configuration form asks for it
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Run v")).click()
    assert re.fullmatch(r"/workflows/[0-9a-f-]{36}\?missing=score", path_of(page)), page.url
    workflow_page = path_of(page).split("?")[0]
    expect(page.get_by_role("status")).to_contain_text("score")
    score = page.get_by_role("spinbutton", name=re.compile(r"^score"))
    score.fill("0.72")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start").click()
    first = _execution_id(page)

    # the open page follows the run until export waits for its name; the badge counts it
    page.evaluate("window.stayed = true")  # gone if the page were loaded again
    _waits_live(page, "train", "succeeded")
    _waits_live(page, "export", "waiting_input")
    expect(page.locator("[data-run-status]")).to_have_text("waiting for input")
    expect(page.locator("#todo-badge")).to_have_text("1", timeout=RUN_TIMEOUT)
    assert page.evaluate("window.stayed === true"), "the page was reloaded"

    # the to-do list leads to the Continue form
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^To-do")).click()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Give input")).click()
    assert path_of(page).startswith(f"/executions/{first}?step=export")
    _continue_export(page, "classifier-v1")

    # the metrics of train are drawn
    with page.expect_navigation():
        _node(page, "train").click()  # type: ignore[attr-defined]
    panel = page.locator("#step-panel")
    for chart in ("Loss by epoch", "Confidence"):  # a line chart, a histogram
        expect(panel.locator("figure", has_text=chart).locator("svg")).to_be_visible()
    expect(panel.locator("figure", has_text="Confusion matrix").locator("table")).to_be_visible()
    expect(panel.get_by_text("0.72").first).to_be_visible()

    # a second run fails on purpose ...
    page.goto(workflow_page)
    page.get_by_label(re.compile(r"^fail")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start").click()
    second = _execution_id(page)
    assert second != first
    _waits_live(page, "train", "failed")
    expect(page.locator("[data-run-status]")).to_have_text("failed", timeout=RUN_TIMEOUT)

    # ... and its train step is retried with changed values through the Retry form
    with page.expect_navigation():
        _node(page, "train").click()  # type: ignore[attr-defined]
    retry = page.locator("#retry")
    retry.get_by_text(re.compile("^Change values")).click()
    retry.get_by_label(re.compile(r"^fail")).uncheck()
    retry.get_by_role("spinbutton", name=re.compile(r"^score")).fill("0.81")
    with page.expect_navigation():
        retry.get_by_role("button", name="Retry step").click()
    _waits_live(page, "export", "waiting_input")
    with page.expect_navigation():
        _node(page, "export").click()  # type: ignore[attr-defined]
    _continue_export(page, "classifier-v2")
    done = api.get(f"/executions/{second}").json()
    assert done["status"] == "succeeded"
    train = next(s for s in done["steps"] if s["name"] == "train")
    assert train["attempt"] == 2 and train["parameters"]["score"] == 0.81

    # compare the two runs from the runs page
    with page.expect_navigation():
        page.get_by_role("link", name="Runs", exact=True).click()
    page.locator(f'input[name="ids"][value="{first}"]').check()
    page.locator(f'input[name="ids"][value="{second}"]').check()
    with page.expect_navigation():
        page.get_by_role("button", name="Compare selected runs").click()
    assert path_of(page).startswith("/runs/compare?")
    table = page.get_by_role("region", name="Comparison")
    expect(table).to_contain_text("0.72")
    expect(table).to_contain_text("0.81")
    expect(table.locator("td.best")).to_contain_text("0.81")

    # nothing waits any more
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^To-do")).click()
    expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()
    expect(page.locator("#todo-badge")).to_have_text("0")
    assert dialogs.seen == []


def test_the_import_dialog_works_with_the_keyboard(
    page: Page, shared: Published, user: tuple[str, str], gallery: Gallery
) -> None:
    sign_in(page, *user)
    page.goto(f"/assets/{shared.content_id}")
    dialog = page.locator("dialog#import-dialog")
    opener = page.get_by_role("link", name="Import…")

    # Tab to "Import…", open it with Enter: focus moves into the dialog; Escape closes it
    opener.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    opener.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    name = "kb_" + uuid.uuid4().hex[:6]
    dialog.get_by_label("Workflow name").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(name)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.fullmatch(r"/workflows/[0-9a-f-]{36}", path_of(page)), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    names = [w["name"] for w in gallery.login(*user).get("/workspaces/default/workflows").json()]
    assert name in names


def test_the_import_dialog_without_javascript_is_a_page_section(
    page_without_js: Page, shared: Published, user: tuple[str, str]
) -> None:
    page = page_without_js
    sign_in(page, *user)
    page.goto(f"/assets/{shared.content_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Import…").click()
    dialog = page.locator("dialog#import-dialog")
    expect(dialog).to_be_visible()
    name = "nojs_" + uuid.uuid4().hex[:6]
    dialog.get_by_label("Workflow name").fill(name)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
