"""Signing in for a token: what the API's password grant and the web console's sign-in
form both do; and signing out of one sign-in, or of all of a user's."""

from __future__ import annotations

from registry.accounts import service
from registry.accounts.service import Principal
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


async def end_sign_in(ctx: Context, token: str) -> None:
    """Sign out: this bearer token stops working at once, for every copy of it, through the
    pages and the API alike (on other replicas within the principal cache's few seconds). The
    user's other sign-ins and personal access tokens go on."""
    if await service.end_sign_in(ctx.db, token=token, access_tokens=ctx.tokens):
        ctx.principals.clear()


async def end_all_sign_ins(ctx: Context, user: Principal) -> None:
    """Sign out everywhere: every bearer token this user holds stops working (the console's
    sign-ins and the API's password-grant tokens); personal access tokens go on."""
    await service.end_all_sign_ins(ctx.db, user_id=user.user_id)
    ctx.principals.clear()
