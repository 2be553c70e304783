"""The web console as a browser without JavaScript sees it: forms, cookies, CSRF tokens."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.support.gallery import Gallery

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class WebClient(httpx.Client):
    """A browser-like client of one Gallery: keeps cookies, reads the CSRF token of the
    pages it gets, and sends it with every form (``submit``)."""

    username: str | None = None
    api: httpx.Client
    """The same user through the API (bearer token), for setting things up."""

    def csrf(self, path: str = "/login") -> str:
        found = CSRF.search(self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def submit(
        self, path: str, fields: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """POST a form as the page would: with this browser's CSRF token."""
        data = {"_csrf": self.csrf("/login"), **(fields or {})}
        return self.post(path, data=data, **kwargs)


def web_client(
    gallery: Gallery, username: str | None = None, password: str | None = None
) -> WebClient:
    """Anonymous, or signed in through the sign-in form when a username is given."""
    client = WebClient(base_url=gallery.base_url, timeout=60, follow_redirects=False)
    if username is not None:
        answer = client.submit("/login", {"username": username, "password": password, "next": "/"})
        assert answer.status_code == 303, answer.text
        client.username = username
        client.api = gallery.login(username, password or "")
    return client


def web_user(gallery: Gallery, prefix: str = "w", *, groups: tuple[str, ...] = ()) -> WebClient:
    """A new user, signed in to the web console (``.api`` is the same user over the API)."""
    name, password = gallery.new_user(prefix, groups=groups)
    return web_client(gallery, name, password)


def tag_of(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert found, f"no element {element_id!r}"
    return found.group(0)


def text_of(page: str, element_id: str) -> str:
    """The text of the element with this id (up to its first child's end), unescaped."""
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', page, re.S)
    assert found, f"no element {element_id!r}"
    return html.unescape(found.group(1))
