"""Every user-supplied string shows as text: an asset's title, description and terms, a
searched tag, a step's title, a log line and a metric's name that hold markup never run."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pipelines import job_dir, journey, publish
from tests.support.browser import Dialogs, sign_in
from tests.support.gallery import Gallery
from tests.support.runner import step_is, wait_for

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
XSS = SCRIPT + IMAGE


def _ran_nothing(page: Page, dialogs: Dialogs) -> None:
    """No dialog opened, and no element came out of the strings."""
    injected = page.evaluate(
        """() => [...document.scripts].filter(s => s.textContent.includes('alert(')).length
               + document.querySelectorAll('img[src="x"], img[onerror]').length"""
    )
    assert injected == 0, page.content()
    assert dialogs.seen == [], dialogs.seen


@pytest.fixture(scope="module")
def hostile(gallery: Gallery, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A public workflow whose texts are markup, run twice by its owner: the first run went
    through, the second waits at export."""
    owner = gallery.new_user("x")
    client = gallery.login(*owner)
    code = job_dir(tmp_path_factory.mktemp("xss-code"))
    workflow = journey(
        code,
        desc="Workflow " + XSS,
        train_title="Train " + XSS,
        metric_key="acc" + SCRIPT,
        metric_title="Metric " + XSS,
        say="Log " + XSS,
    )
    published = publish(
        client,
        workflow,
        title="Title " + XSS,
        description="Description " + XSS,
        terms="Terms " + XSS,
        tags=["xss"],
    )
    ran = client.post(f"/assets/{published.content_id}/run", json={"parameters": {"score": 0.5}})
    assert ran.status_code == 201, ran.text
    first = ran.json()["execution"]["id"]
    wait_for(client, first, step_is("export", "waiting_input"))
    answer = client.post(
        f"/executions/{first}/steps/export/continue", json={"inputs": {"release_name": "m"}}
    )
    assert answer.status_code == 200, answer.text
    assert wait_for(client, first)["status"] == "succeeded"
    workflow_id = ran.json()["workflow"]["id"]
    again = client.post(f"/workflows/{workflow_id}/executions", json={"parameters": {"score": 0.6}})
    assert again.status_code == 201, again.text
    execution_id = again.json()["id"]
    wait_for(client, execution_id, step_is("export", "waiting_input"))
    return {
        "username": owner[0],
        "password": owner[1],
        "content_id": published.content_id,
        "workflow_id": workflow_id,
        "first": first,
        "execution_id": execution_id,
    }


def test_the_catalog_shows_markup_as_text(
    page: Page, dialogs: Dialogs, hostile: dict[str, str]
) -> None:
    page.goto("/?tag=xss")
    expect(page.get_by_role("link", name="Title " + XSS)).to_be_visible()
    page.goto("/?q=" + quote(XSS) + "&tag=" + quote(XSS))
    expect(page.get_by_label("Search", exact=True)).to_have_value(XSS)
    _ran_nothing(page, dialogs)


def test_the_asset_page_shows_markup_as_text(
    page: Page, dialogs: Dialogs, hostile: dict[str, str], user: tuple[str, str]
) -> None:
    sign_in(page, *user)
    page.goto(f"/assets/{hostile['content_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Title " + XSS)
    expect(page.get_by_text("Description " + XSS)).to_be_visible()
    expect(page.get_by_text("Terms " + XSS)).to_be_visible()
    expect(page.locator("svg.dag")).to_contain_text("train")
    expect(page.get_by_text("Train " + XSS)).to_be_attached()  # the step's title
    _ran_nothing(page, dialogs)


def test_the_run_pages_show_markup_as_text(
    page: Page, dialogs: Dialogs, hostile: dict[str, str]
) -> None:
    sign_in(page, hostile["username"], hostile["password"])
    execution = f"/executions/{hostile['execution_id']}"
    page.goto(execution + "?step=train")
    expect(page.get_by_text("Log " + XSS).first).to_be_visible()
    expect(page.get_by_text("Metric " + XSS).first).to_be_visible()
    _ran_nothing(page, dialogs)

    for path in (
        f"/workflows/{hostile['workflow_id']}",
        "/runs",
        "/todo",
        f"/runs/compare?ids={hostile['first']},{hostile['execution_id']}",
    ):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        _ran_nothing(page, dialogs)
    expect(page.get_by_text("acc" + SCRIPT).first).to_be_visible()  # the compared metric


def test_live_updates_show_markup_as_text(
    page: Page, dialogs: Dialogs, hostile: dict[str, str], gallery: Gallery
) -> None:
    """The execution page, open while the run moves on, redraws from the event stream: the
    strings stay text there too (and the log tail, read on live, too)."""
    sign_in(page, hostile["username"], hostile["password"])
    page.goto(f"/executions/{hostile['execution_id']}?step=export")
    expect(page.locator("[data-run-status]")).to_have_text("waiting for input")
    owner = gallery.login(hostile["username"], hostile["password"])
    answer = owner.post(
        f"/executions/{hostile['execution_id']}/steps/export/continue",
        json={"inputs": {"release_name": XSS}},
    )
    assert answer.status_code == 200, answer.text
    expect(page.locator("[data-run-status]")).to_have_text("succeeded", timeout=90_000)
    expect(page.locator("#log")).to_contain_text("export: done", timeout=30_000)
    expect(page.locator("#step-panel")).to_contain_text(XSS)
    _ran_nothing(page, dialogs)
