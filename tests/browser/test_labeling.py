"""The labeling page in a browser: keys label (a digits task's keys are its labels), arrows
move between samples, pictures show inline; without JavaScript its buttons are plain forms."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

import sdk as wf
from tests.browser.demo import _labeling
from tests.sdk.support import token_of
from tests.support.browser import sign_in
from tests.support.gallery import Gallery


def _task(gallery: Gallery, user: tuple[str, str], tmp_path: Path) -> str:
    client = gallery.login(*user)
    return _labeling(tmp_path / "digits", client, wf.Session(gallery.base_url, token_of(client)))


def test_keys_label_and_arrows_move(
    page: Page, gallery: Gallery, user: tuple[str, str], tmp_path: Path
) -> None:
    task = _task(gallery, user, tmp_path)
    sign_in(page, *user)
    page.goto(f"/label-tasks/{task}")
    expect(page.locator("#progress-text")).to_have_text("6 of 12 labelled")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("digits/06.png")
    picture = page.get_by_role("img", name="Sample digits/06.png")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") > 0  # the picture did load

    with page.expect_navigation():
        page.keyboard.press("2")  # digits/06.png shows a 2
    expect(page.locator("#progress-text")).to_have_text("7 of 12 labelled")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("digits/07.png")
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("digits/06.png")
    expect(page.locator("#current-label")).to_have_text(re.compile("Labelled 2"))
    expect(page.get_by_role("button", name="2", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    client = gallery.login(*user)
    labels = client.get(f"/label-tasks/{task}/samples", params={"state": "labelled"}).json()
    assert {s["path"]: s["label"] for s in labels["items"]}["digits/06.png"] == "2"


def test_without_javascript_the_buttons_are_forms(
    page_without_js: Page, gallery: Gallery, user: tuple[str, str], tmp_path: Path
) -> None:
    task = _task(gallery, user, tmp_path)
    page = page_without_js
    sign_in(page, *user)
    page.goto(f"/label-tasks/{task}?i=7")
    with page.expect_navigation():
        page.get_by_role("button", name="6", exact=True).click()
    expect(page.locator("#progress-text")).to_have_text("7 of 12 labelled")
