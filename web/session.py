"""The web console's session: the sign-in cookie, CSRF tokens, and where to go after signing in.

Signing in puts an access token (the same kind the API issues) in an HttpOnly, SameSite=Lax
cookie; ``registry.context`` reads it. Every form carries a CSRF token: an HMAC of a random
per-browser cookie under the server's secret, so another site can neither read nor forge it
(double submit, signed). ``csrf_guard`` refuses every page request that changes something
without it, before the handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler

from registry.context import SAFE_METHODS, SESSION_COOKIE, Context
from registry.errors import Forbidden

CSRF_COOKIE = "gallery_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
_NEW_CSRF = "gallery.csrf"
"""Where a request keeps the CSRF cookie it is about to set (``connection.state``)."""


def _secure(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.url.scheme == "https"


def session_cookie(
    connection: ASGIConnection[Any, Any, Any, Any], token: str, max_age: int
) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(connection),
    )


def signed_out_cookie(connection: ASGIConnection[Any, Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        max_age=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(connection),
    )


def _sign(ctx: Context, seed: str) -> str:
    key = ctx.settings.resolved_secret_key().encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_seed(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """This browser's CSRF seed (its cookie), or a new one that ``csrf_cookies`` will set."""
    seed = connection.cookies.get(CSRF_COOKIE)
    if seed and len(seed) == 43:
        return seed
    state = connection.state
    if _NEW_CSRF not in state:
        state[_NEW_CSRF] = secrets.token_urlsafe(32)
    new: str = state[_NEW_CSRF]
    return new


def csrf_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    ctx: Context = connection.app.state.ctx
    return _sign(ctx, csrf_seed(connection))


def csrf_cookies(connection: ASGIConnection[Any, Any, Any, Any]) -> list[Cookie]:
    """The CSRF cookie to set when this request made a new seed (else nothing)."""
    if _NEW_CSRF not in connection.state:
        return []
    return [
        Cookie(
            key=CSRF_COOKIE,
            value=connection.state[_NEW_CSRF],
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(connection),
            max_age=365 * 24 * 3600,
        )
    ]


CSRF_REFUSED = (
    "the form's security token is missing or does not match this browser "
    "(reload the page and send it again)"
)


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a page request that changes something carries this browser's CSRF token, in
    the form field ``_csrf`` or the ``X-CSRF-Token`` header; else 403."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    seed = connection.cookies.get(CSRF_COOKIE)
    sent = connection.headers.get(CSRF_HEADER)
    if sent is None:
        request: Request[Any, Any, Any] = Request(connection.scope, connection.receive)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    ctx: Context = connection.app.state.ctx
    if not seed or not sent or not hmac.compare_digest(sent, _sign(ctx, seed)):
        raise Forbidden(CSRF_REFUSED)


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not target or len(target) > 2000:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def sign_in_url(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The sign-in page, coming back here afterwards."""
    here = connection.scope["path"]
    query = connection.scope.get("query_string", b"").decode("latin-1")
    back = here + (f"?{query}" if query else "")
    return f"/login?next={quote(back, safe='/')}"
