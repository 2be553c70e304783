"""First-run set-up: the first administrator account."""

from __future__ import annotations

import secrets

from registry.accounts.service import count_users, create_user
from registry.context import Context


async def ensure_admin(ctx: Context, username: str = "admin") -> str | None:
    """Create an admin with a random password when there are no users; returns the password."""
    async with ctx.db.write() as session:
        if await count_users(session):
            return None
        password = secrets.token_urlsafe(12)
        await create_user(
            session, username=username, password=password, passwords=ctx.passwords, is_admin=True
        )
        return password
