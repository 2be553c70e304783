"""What request handlers need, built once per app from the settings."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

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


async def provide_principal(request: Request[Any, Any, State], ctx: CtxDep) -> Principal | None:
    """The caller from ``Authorization: Bearer …``; None when the header is absent."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    token = token.strip()
    cached = ctx.principals.get(token)
    if cached is not None:
        return cached
    async with ctx.db.read() as session:
        principal = await authenticate(session, token=token, access_tokens=ctx.tokens)
    ctx.principals.put(token, principal)
    return principal


def signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first (POST /api/v1/auth/token or a personal token)")
    return principal
