"""What anonymous visitors see, and what nobody but the owner sees (a private asset is 404)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.pipelines import Published
from tests.support.browser import path_of, sign_in
from tests.support.gallery import Gallery, new_asset


def test_anonymous_visitors_browse_public_assets_and_sign_in_to_act(
    page: Page, gallery: Gallery, public_workflow: Published, publisher: tuple[str, str]
) -> None:
    hidden = new_asset(
        gallery.login(*publisher), title="Secret plan " + uuid.uuid4().hex[:6], tags=["browser"]
    )
    page.goto("/?tag=browser")
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    card = page.get_by_role("link", name=public_workflow.title)
    expect(card).to_be_visible()
    expect(page.get_by_text(hidden["title"])).to_have_count(0)

    page.get_by_label("Search", exact=True).fill(public_workflow.title)
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert "q=" in path_of(page)
    with page.expect_navigation():
        page.get_by_role("link", name=public_workflow.title).click()
    assert path_of(page) == f"/assets/{public_workflow.content_id}"
    expect(page.get_by_role("heading", level=1)).to_have_text(public_workflow.title)
    expect(page.locator("svg.dag")).to_be_visible()
    expect(page.get_by_role("button", name="Subscribe")).to_have_count(0)

    # acting needs an account: sign in, and come back to the asset
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in to subscribe").click()
    assert path_of(page).startswith("/login?next=")
    name, password = gallery.new_user("anon")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert path_of(page) == f"/assets/{public_workflow.content_id}"
    expect(page.locator("header .me")).to_have_text(name)


def test_a_private_asset_is_not_found_for_anyone_else(
    page: Page, gallery: Gallery, publisher: tuple[str, str], user: tuple[str, str]
) -> None:
    private = new_asset(gallery.login(*publisher), title="Private " + uuid.uuid4().hex[:6])
    path = f"/assets/{private['content_id']}"

    answer = page.goto(path)
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text(private["title"])).to_have_count(0)

    sign_in(page, *user)
    answer = page.goto(path)
    assert answer is not None and answer.status == 404
    expect(page.get_by_text(private["title"])).to_have_count(0)

    page.context.clear_cookies()
    sign_in(page, *publisher)
    answer = page.goto(path)
    assert answer is not None and answer.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(private["title"])
