"""Signing out of the web console ends that very sign-in: a copy of its cookie (a stolen
cookie, another tab, a proxy's log) is no sign-in afterwards, on the pages and the API alike,
while the user's other sign-ins and personal access tokens go on."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import OctKey
from sqlmodel import select

from registry.accounts.models import RevokedToken
from registry.db import Database
from registry.models_base import utcnow
from tests.support.gallery import Gallery
from tests.support.web import WebClient, web_client

SESSION = "gallery_session"


def holding(gallery: Gallery, token: str) -> WebClient:
    """A browser that carries a copy of someone's session cookie."""
    browser = web_client(gallery)
    browser.cookies.set(SESSION, token)
    return browser


def assert_signed_in(gallery: Gallery, token: str, username: str) -> None:
    copy = holding(gallery, token)
    assert copy.get("/my/assets").status_code == 200
    assert copy.get("/api/v1/me").json()["username"] == username
    assert gallery.client(token).get("/me").json()["username"] == username


def assert_no_sign_in(gallery: Gallery, token: str) -> None:
    """The pages send a holder of ``token`` to sign in; the API answers 401, whether the token
    comes as the cookie or as a bearer token."""
    copy = holding(gallery, token)
    page = copy.get("/my/assets")
    assert page.status_code == 303 and page.headers["location"].startswith("/login"), page.text
    assert copy.get("/api/v1/me").status_code == 401
    assert gallery.client(token).get("/me").status_code == 401


def cookie_of(browser: WebClient) -> str:
    token = browser.cookies.get(SESSION)
    assert token, "signed in, yet no session cookie"
    return token


def test_a_copy_of_the_cookie_is_no_sign_in_after_signing_out(gallery: Gallery) -> None:
    name, password = gallery.new_user("out")
    browser = web_client(gallery, name, password)
    other = web_client(gallery, name, password)  # the same user, signed in elsewhere
    personal = browser.api.post("/tokens", json={"name": "keep"}).json()["token"]
    stolen = cookie_of(browser)
    assert_signed_in(gallery, stolen, name)  # the copy works while the sign-in lasts

    answer = browser.submit("/logout")
    assert answer.status_code == 303
    assert browser.cookies.get(SESSION) is None  # the browser forgot it

    assert_no_sign_in(gallery, stolen)  # and so did the server
    assert_signed_in(gallery, cookie_of(other), name)  # the other sign-in goes on
    assert browser.api.get("/me").json()["username"] == name  # so does the API's token
    assert gallery.client(personal).get("/me").json()["username"] == name
    again = web_client(gallery, name, password)  # and signing in again works
    assert_signed_in(gallery, cookie_of(again), name)


def test_signing_out_of_a_tab_ends_the_other_tabs_too(gallery: Gallery) -> None:
    """Two tabs share the cookie: signing out in one ends both, and signing out again (from the
    other tab, or with a cookie that is no good) simply signs out."""
    name, password = gallery.new_user("out")
    browser = web_client(gallery, name, password)
    token = cookie_of(browser)
    tab = holding(gallery, token)
    assert browser.submit("/logout").status_code == 303
    assert tab.get("/api/v1/me").status_code == 401
    assert tab.submit("/logout").status_code == 303
    forged = holding(gallery, "not-a-token")
    assert forged.submit("/logout").status_code == 303
    assert_no_sign_in(gallery, token)


def test_signing_out_everywhere_ends_every_sign_in_but_not_personal_tokens(
    gallery: Gallery,
) -> None:
    name, password = gallery.new_user("out")
    browser = web_client(gallery, name, password)
    other = web_client(gallery, name, password)
    personal = browser.api.post("/tokens", json={"name": "keep"}).json()["token"]
    api_token = browser.api.headers["authorization"].removeprefix("Bearer ")
    others = cookie_of(other)

    assert browser.submit("/logout", {"everywhere": "1"}).status_code == 303

    assert_no_sign_in(gallery, others)
    assert gallery.client(api_token).get("/me").status_code == 401
    assert gallery.client(personal).get("/me").json()["username"] == name
    assert_signed_in(gallery, cookie_of(web_client(gallery, name, password)), name)


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def test_a_token_from_before_token_ids_can_be_signed_out(gallery: Gallery) -> None:
    """Tokens issued before each had an id (``jti``) still sign in, and signing out ends
    them too; another such token of the same user goes on."""
    name, password = gallery.new_user("out")
    claims = _claims(cookie_of(web_client(gallery, name, password)))
    secret = gallery.settings.resolved_secret_key().encode()
    key = OctKey.import_key(hashlib.sha256(secret).digest())  # as the server signs

    def legacy(issued_at: int) -> str:
        old = {k: v for k, v in claims.items() if k != "jti"} | {"iat": issued_at}
        return jwt.encode({"alg": "HS256"}, old, key)

    now = int(time.time())
    first, second = legacy(now - 10), legacy(now - 20)
    assert_signed_in(gallery, first, name)
    assert holding(gallery, first).submit("/logout").status_code == 303
    assert_no_sign_in(gallery, first)
    assert_signed_in(gallery, second, name)


def test_revocations_of_expired_tokens_are_pruned(gallery: Gallery) -> None:
    """The table of signed-out tokens keeps each only while the token could still be used."""
    old = uuid.uuid4().hex

    async def add_expired() -> None:
        db = Database(gallery.settings.resolved_database_url)
        try:
            async with db.write() as session:
                session.add(RevokedToken(jti=old, expires_at=utcnow() - timedelta(days=1)))
        finally:
            await db.dispose()

    async def kept() -> set[str]:
        db = Database(gallery.settings.resolved_database_url)
        try:
            async with db.read() as session:
                return set((await session.exec(select(RevokedToken.jti))).all())
        finally:
            await db.dispose()

    asyncio.run(add_expired())
    name, password = gallery.new_user("out")
    browser = web_client(gallery, name, password)
    jti = _claims(cookie_of(browser))["jti"]
    assert isinstance(jti, str)
    assert browser.submit("/logout").status_code == 303
    rows = asyncio.run(kept())
    assert jti in rows
    assert old not in rows


def test_signing_out_needs_this_browsers_csrf_token(gallery: Gallery) -> None:
    """Another site cannot sign a browser out (nor end its other sign-ins)."""
    name, password = gallery.new_user("out")
    browser = web_client(gallery, name, password)
    token = cookie_of(browser)
    refused = browser.post("/logout", data={"everywhere": "1"})
    assert refused.status_code == 403
    assert_signed_in(gallery, token, name)
