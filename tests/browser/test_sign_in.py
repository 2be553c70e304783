"""Signing in and out through the real form, in Chromium."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import path_of, sign_in, sign_out
from tests.support.gallery import Gallery


def test_a_wrong_password_says_so_and_keeps_the_username(page: Page, user: tuple[str, str]) -> None:
    name, _ = user
    page.goto("/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value is not None and answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("password")
    expect(page.get_by_label("Username")).to_have_value(name)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("header .me")).to_have_count(0)


def test_signing_in_goes_back_to_the_page_asked_for(page: Page, user: tuple[str, str]) -> None:
    sign_in(page, *user, next=quote("/?q=hello&sort=newest", safe="/"))
    assert path_of(page) == "/?q=hello&sort=newest"


def test_a_page_that_needs_a_user_sends_to_sign_in_and_back(
    page: Page, user: tuple[str, str]
) -> None:
    page.goto("/todo")
    assert path_of(page) == "/login?next=/todo"
    page.get_by_label("Username").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert path_of(page) == "/todo"
    expect(page.locator("header .me")).to_have_text(user[0])


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_no_open_redirect_after_signing_in(
    page: Page, gallery: Gallery, user: tuple[str, str], target: str
) -> None:
    sign_in(page, *user, next=quote(target, safe=""))
    assert page.url == gallery.base_url + "/"


def test_signing_out_forgets_the_user(page: Page, user: tuple[str, str]) -> None:
    sign_in(page, *user)
    sign_out(page)
    expect(page.locator("header .me")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/todo")
    assert path_of(page).startswith("/login?next=")
