"""Signing in for a token: what the API's password grant and the web console's sign-in
form both do."""

from __future__ import annotations

from registry.accounts import service
from registry.bootstrap import FIRST_ADMIN, forget_initial_password
from registry.context import Context
from registry.security import IssuedToken


async def issue_token(
    ctx: Context, *, username: str, password: str, address: str | None
) -> IssuedToken:
    """An access token for whoever knows this password (InvalidGrant otherwise;
    TooManyRequests after too many failures). The first administrator's first sign-in
    removes the file that held their initial password."""
    user = await service.sign_in(
        ctx.db,
        username=username,
        password=password,
        address=address,
        passwords=ctx.passwords,
        throttle=ctx.signins,
    )
    assert user.id is not None
    if user.is_admin and user.username == FIRST_ADMIN:
        forget_initial_password(ctx.settings.data_dir)
    return ctx.tokens.issue(user.id, user.credentials_epoch)
