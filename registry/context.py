"""What request handlers need, built once per app from the settings, and who is calling.

The caller is resolved once per request (``current_principal``); routes for signed-in users
only sit under ``signed_in_routes`` (the ``signed_in`` guard, ``UserDep``); the others take
``PrincipalDep`` (None when anonymous).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import SecurityRequirement
from litestar.types import ControllerRouterHandler

from registry.accounts.service import Principal, authenticate
from registry.accounts.throttle import SignInThrottle
from registry.blobs import BlobStore, open_blob_store
from registry.db import Database
from registry.errors import Unauthenticated
from registry.executions.runner_client import RunnerClient
from registry.security import AccessTokens, Passwords
from registry.settings import Settings


class PrincipalCache:
    """Recently resolved bearer tokens, so a request does not pay three queries to say who it is.

    Entries live a few seconds; this process evicts them at once when a token is revoked, a
    password changes, a user is deactivated or a group changes (another process's change,
    e.g. the admin CLI or another replica, shows within ``ttl``).
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, Principal]] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(self._key(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[self._key(token)] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore
    passwords: Passwords
    tokens: AccessTokens
    runner: RunnerClient
    signins: SignInThrottle
    principals: PrincipalCache = field(default_factory=PrincipalCache)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        (settings.ensure_data_dir() / "tmp").mkdir(exist_ok=True)
        return cls(
            settings=settings,
            db=Database(settings.resolved_database_url),
            blobs=open_blob_store(settings),
            passwords=Passwords(
                memory_kib=settings.password_memory_kib,
                time_cost=settings.password_time_cost,
                threads=settings.password_hash_threads,
            ),
            tokens=AccessTokens(settings.resolved_secret_key(), settings.access_token_ttl_seconds),
            runner=RunnerClient(settings.resolved_temporal_address, settings.temporal_namespace),
            signins=SignInThrottle(
                per_user=settings.signin_failures_per_user,
                per_address=settings.signin_failures_per_address,
                window_seconds=settings.signin_window_seconds,
                max_keys=settings.signin_tracked_keys,
            ),
        )


async def provide_ctx(state: State) -> Context:
    ctx: Context = state.ctx
    return ctx


CtxDep = NamedDependency[Context]
PrincipalDep = NamedDependency[Principal | None]
"""The caller, or None when anonymous: for routes anyone may call."""
UserDep = NamedDependency[Principal]
"""The signed-in caller: only under ``signed_in_routes``, whose guard has refused anyone else."""

SIGN_IN_FIRST = "sign in first (POST /api/v1/auth/token or a personal token)"
_RESOLVED = "gallery.principal"
"""Where a request keeps its caller once resolved (in ``connection.state``)."""


async def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller from ``Authorization: Bearer …``; None when the header is absent; 401 for a
    header that is not a bearer token or a token that is invalid, expired or revoked.

    Resolved once per request and kept on the connection's state, so the ``signed_in`` guard
    and the ``principal`` and ``user`` dependencies share one check of the token.
    """
    state = connection.state
    if _RESOLVED in state:
        resolved: Principal | None = state[_RESOLVED]
        return resolved
    ctx: Context = connection.app.state.ctx
    header = connection.headers.get("authorization")
    if header:
        principal = await _authenticate(header, ctx)
    else:
        principal = await _from_session(connection, ctx)
    state[_RESOLVED] = principal
    return principal


def resolved_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller if this request has resolved it already, else None (for synchronous code,
    such as exception handlers, that cannot ask)."""
    resolved: Principal | None = connection.state.get(_RESOLVED)
    return resolved


SESSION_COOKIE = "gallery_session"
"""The web console's sign-in: an access token in an HttpOnly, SameSite=Lax cookie (set by
``web.session``)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PATH = "/api/"


async def _from_session(
    connection: ASGIConnection[Any, Any, Any, Any], ctx: Context
) -> Principal | None:
    """The caller from the web console's session cookie, or None.

    The API honours the cookie for reads only (so a browser can follow a run's events and
    download outputs); a change through the API needs a bearer token, so no other site can
    make a signed-in browser change anything through it. The pages' forms carry a CSRF token
    checked by ``web.session``. A cookie that is no longer good is no sign-in (the pages then
    ask to sign in again), never an error.
    """
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    method = connection.scope.get("method", "GET")
    if method not in SAFE_METHODS and connection.scope["path"].startswith(API_PATH):
        return None
    try:
        return await _token_principal(token, ctx)
    except Unauthenticated:
        return None


async def _authenticate(header: str | None, ctx: Context) -> Principal | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    return await _token_principal(token.strip(), ctx)


async def _token_principal(token: str, ctx: Context) -> Principal:
    """The principal of a bearer token (kept a few seconds in ``ctx.principals``), or 401."""
    cached = ctx.principals.get(token)
    if cached is not None:
        return cached
    async with ctx.db.read() as session:
        principal = await authenticate(session, token=token, access_tokens=ctx.tokens)
    ctx.principals.put(token, principal)
    return principal


async def provide_principal(request: Request[Any, Any, State]) -> Principal | None:
    """``principal``: the caller, or None when anonymous (see ``current_principal``)."""
    return await current_principal(request)


async def provide_user(request: Request[Any, Any, State]) -> Principal:
    """``user``: the signed-in caller (the guard of ``signed_in_routes`` has made sure)."""
    principal = await current_principal(request)
    if principal is None:  # unreachable under the guard; its answer, should it ever be missing
        raise Unauthenticated(SIGN_IN_FIRST)
    return principal


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: anonymous callers get the 401 of every route that needs a signed-in user, before
    the request's body, parameters or dependencies are read."""
    if await current_principal(connection) is None:
        raise Unauthenticated(SIGN_IN_FIRST)


SIGNED_IN_SECURITY: list[SecurityRequirement] = [{"bearer": []}, {"password": []}]
"""What the OpenAPI document says of every signed-in route: a bearer token, no anonymous use."""


def signed_in_routes(*handlers: ControllerRouterHandler) -> Router:
    """The routes for signed-in callers only: the ``signed_in`` guard on each, ``user``
    (``UserDep``) for their handlers, and a bearer token required in the OpenAPI document."""
    return Router(
        path="/",
        route_handlers=list(handlers),
        guards=[signed_in],
        dependencies={"user": Provide(provide_user)},
        security=SIGNED_IN_SECURITY,
    )
