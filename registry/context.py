"""What request handlers need, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from registry.accounts.service import Principal, authenticate
from registry.blobs import BlobStore, open_blob_store
from registry.db import Database
from registry.errors import Unauthenticated
from registry.security import AccessTokens, Passwords
from registry.settings import Settings


@dataclass
class Context:
    settings: Settings
    db: Database
    blobs: BlobStore
    passwords: Passwords
    tokens: AccessTokens

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        (settings.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            db=Database(settings.resolved_database_url),
            blobs=open_blob_store(settings),
            passwords=Passwords(
                memory_kib=settings.password_memory_kib, time_cost=settings.password_time_cost
            ),
            tokens=AccessTokens(settings.resolved_secret_key(), settings.access_token_ttl_seconds),
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
    async with ctx.db.read() as session:
        return await authenticate(session, token=token.strip(), access_tokens=ctx.tokens)


def signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first (POST /api/v1/auth/token or a personal token)")
    return principal
