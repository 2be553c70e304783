"""The web console's sign-in, session cookie, CSRF guard and API docs, as a browser without
JavaScript meets them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.gallery import Gallery
from tests.support.web import WebClient, web_client, web_user


def test_sign_in_sets_an_httponly_lax_cookie_and_goes_back(gallery: Gallery) -> None:
    name, password = gallery.new_user("sess")
    browser = web_client(gallery)
    answer = browser.submit(
        "/login", {"username": name, "password": password, "next": "/my/assets?x=1"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/assets?x=1"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("gallery_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert browser.get("/api/v1/me").json()["username"] == name  # the API reads it on GET
    assert name in browser.get("/").text  # and the pages say who is signed in


def test_a_wrong_password_says_so_and_keeps_the_username(gallery: Gallery) -> None:
    name, _ = gallery.new_user("sess")
    browser = web_client(gallery)
    answer = browser.submit("/login", {"username": name, "password": "wrong", "next": "/"})
    assert answer.status_code == 400
    assert "wrong username or password" in answer.text.lower() or "invalid" in answer.text.lower()
    assert f'value="{name}"' in answer.text
    assert "gallery_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0d%0aSet-Cookie:x=y",
        "",
    ],
)
def test_no_open_redirect_after_sign_in(gallery: Gallery, target: str) -> None:
    name, password = gallery.new_user("sess")
    browser = web_client(gallery)
    answer = browser.submit("/login", {"username": name, "password": password, "next": target})
    assert answer.status_code == 303
    location = answer.headers["location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc and location.startswith("/")
    assert not location.startswith("//") and "\\" not in location
    if target.startswith(("http", "//", "/\\", "javascript")):
        assert location == "/"


def test_the_sign_in_page_does_not_reflect_an_unsafe_next(gallery: Gallery) -> None:
    page = web_client(gallery).get("/login", params={"next": "https://evil.example/"})
    assert page.status_code == 200
    assert "evil.example" not in page.text


def test_forms_without_this_browsers_csrf_token_are_refused(gallery: Gallery) -> None:
    name, password = gallery.new_user("sess")
    browser = web_client(gallery)
    fields = {"username": name, "password": password, "next": "/"}
    assert browser.post("/login", data=fields).status_code == 403  # no token
    other = web_client(gallery)
    token = other.csrf("/login")  # a valid token, of another browser
    browser.csrf("/login")  # this browser has its own seed cookie
    refused = browser.post("/login", data={**fields, "_csrf": token})
    assert refused.status_code == 403
    assert "security token" in refused.text
    assert "gallery_session" not in refused.headers.get("set-cookie", "")
    # The same with a header instead of the field.
    assert browser.post("/login", data=fields, headers={"X-CSRF-Token": token}).status_code == 403
    assert browser.submit("/login", fields).status_code == 303


def test_sign_out_needs_the_token_and_ends_the_session(gallery: Gallery) -> None:
    browser = web_user(gallery)
    assert browser.post("/logout").status_code == 403
    assert browser.get("/api/v1/me").status_code == 200
    answer = browser.submit("/logout")
    assert answer.status_code == 303
    assert (
        'gallery_session=""' in answer.headers["set-cookie"]
        or "Max-Age=0" in answer.headers["set-cookie"]
    )
    browser.cookies.delete("gallery_session")
    assert browser.get("/api/v1/me").status_code == 401


def test_the_cookie_does_not_change_anything_through_the_api(gallery: Gallery) -> None:
    """Another site could make a signed-in browser send a POST to the API: the cookie alone
    is no sign-in there (a bearer token is), so nothing happens."""
    browser = web_user(gallery)
    made = browser.post("/api/v1/workspaces", json={"name": "from-elsewhere"})
    assert made.status_code == 401
    names = [w["name"] for w in browser.api.get("/workspaces").json()]
    assert "from-elsewhere" not in names
    form = browser.post(
        "/api/v1/assets",
        data={"kind": "workflow", "name": "x"},
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code in (400, 401, 415)


def test_a_cookie_that_is_no_longer_good_is_no_sign_in(gallery: Gallery) -> None:
    name, password = gallery.new_user("sess")
    browser = web_client(gallery, name, password)
    assert browser.get("/api/v1/me").status_code == 200
    changed = browser.api.post(
        "/me/password", json={"current_password": password, "new_password": "new-" + password}
    )
    assert changed.status_code == 200
    assert browser.get("/api/v1/me").status_code == 401  # issued before the change
    page = browser.get("/login")
    assert page.status_code == 200 and "Sign in" in page.text
    forged = web_client(gallery)
    forged.cookies.set("gallery_session", "not-a-token")
    assert forged.get("/").status_code == 200  # anonymous, not an error
    assert forged.get("/api/v1/me").status_code == 401


def test_error_pages_are_html_and_escaped(gallery: Gallery) -> None:
    browser = web_client(gallery)
    answer = browser.post("/login", data={"_csrf": "<script>alert(1)</script>"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in answer.text


def test_api_docs_work_without_internet(gallery: Gallery) -> None:
    """/schema loads nothing from another host, and everything it loads is served here."""
    browser: WebClient = web_client(gallery)
    for path in ("/schema", "/schema/swagger"):
        page = browser.get(path)
        assert page.status_code == 200
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), path
        assets = re.findall(r"""(?:src|href)=["']?(/static/[^"' >]+)""", page.text)
        assert len(assets) >= 3
        for asset in assets:
            assert browser.get(asset).status_code == 200, asset
    document = browser.get("/schema/openapi.json")
    assert document.status_code == 200 and document.json()["info"]["title"] == "Gallery"


def test_static_files_do_not_leave_their_folder(gallery: Gallery) -> None:
    for path in (
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/vendor/../../session.py",
    ):
        answer = httpx.get(gallery.base_url + path)
        assert answer.status_code in (400, 404), path
        assert "csrf_guard" not in answer.text
