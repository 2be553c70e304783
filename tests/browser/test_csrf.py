"""CSRF: a form posted from a page of another origin, or without this browser's token, is
refused (403) and changes nothing."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.pipelines import Published
from tests.support.browser import path_of, sign_in
from tests.support.gallery import Gallery

EVIL_ORIGIN = "http://127.0.0.1:9"
"""Another origin (another port on loopback: same site, so the browser does send the
Gallery's SameSite=Lax cookies — only the CSRF token can tell the forgery apart). Playwright
answers its page itself: nothing listens there and no request leaves the browser."""


def _forged_form(target: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (
        "<!doctype html><html lang=en><title>Win a prize</title><body>"
        f'<form id="f" method="post" action="{target}">{inputs}'
        '<button id="go">Claim</button></form></body></html>'
    )


def _still_signed_in(page: Page, username: str) -> None:
    page.goto("/")
    expect(page.locator("header .me")).to_have_text(username)


def test_a_form_from_another_origin_is_refused(
    page: Page, gallery: Gallery, user: tuple[str, str], public_workflow: Published
) -> None:
    sign_in(page, *user)
    target = f"{gallery.base_url}/assets/{public_workflow.content_id}/subscribe"
    page.route(
        f"{EVIL_ORIGIN}/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=_forged_form(target, {"accept_terms": "on", "_csrf": "forged"}),
        ),
    )
    page.goto(f"{EVIL_ORIGIN}/prize.html")
    with page.expect_navigation() as answer:
        page.click("#go")
    assert answer.value is not None and answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("Forbidden")
    mine = gallery.login(*user).get("/subscriptions").json()
    assert public_workflow.content_id not in str(mine)

    # signing out is a form too: a forged one leaves the user signed in
    page.route(
        f"{EVIL_ORIGIN}/**",
        lambda route: route.fulfill(
            content_type="text/html", body=_forged_form(f"{gallery.base_url}/logout", {})
        ),
    )
    page.goto(f"{EVIL_ORIGIN}/logout.html")
    with page.expect_navigation() as answer:
        page.click("#go")
    assert answer.value is not None and answer.value.status == 403
    _still_signed_in(page, user[0])


def test_a_form_without_the_token_is_refused(page: Page, user: tuple[str, str]) -> None:
    sign_in(page, *user)
    page.locator('header form[action="/logout"] input[name="_csrf"]').evaluate("e => e.remove()")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value is not None and answer.value.status == 403
    expect(page.locator("main")).to_contain_text("security token")
    _still_signed_in(page, user[0])


def test_another_browsers_token_is_refused(
    page: Page, context: BrowserContext, user: tuple[str, str], gallery: Gallery
) -> None:
    """A token read from one browser (say, the attacker's own session) fails in another."""
    other = context.browser
    assert other is not None
    attacker = other.new_context(base_url=gallery.base_url)
    try:
        stranger = attacker.new_page()
        stranger.goto("/login")
        token = stranger.locator('input[name="_csrf"]').first.get_attribute("value")
    finally:
        attacker.close()
    assert token
    sign_in(page, *user)
    page.locator('header form[action="/logout"] input[name="_csrf"]').evaluate(
        "(e, t) => { e.value = t; }", token
    )
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value is not None and answer.value.status == 403
    _still_signed_in(page, user[0])
    assert path_of(page) == "/"
