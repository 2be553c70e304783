"""Password hashing (argon2id), access tokens (JWT via joserfc) and personal access tokens."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

PAT_PREFIX = "gly_"
_USER_ID = re.compile(r"[1-9][0-9]{0,17}")
_ISSUER = "gallery"
# The JWT claim that carries the user's credentials epoch (see ``AccessTokens``).
_EPOCH = "epoch"
# A token id (``jti``): random, so each sign-in can be ended on its own (``revoked_token``).
_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")

T = TypeVar("T")


class Passwords:
    """argon2id: memory-hard, with the cost taken from settings.

    ``hash`` and ``verify`` block for tens of milliseconds; a server calls the ``*_async``
    twins, which run them in this object's own worker threads, at most ``threads`` at a time
    (each hash holds ``memory_kib``), so the event loop keeps serving and a flood of sign-ins
    queues instead of exhausting memory.
    """

    def __init__(self, *, memory_kib: int, time_cost: int, threads: int = 2) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")

    async def _in_thread(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    async def hash_async(self, password: str) -> str:
        return await self._in_thread(self.hash, password)

    async def verify_async(self, stored: str, password: str) -> bool:
        return await self._in_thread(self.verify, stored, password)

    async def dummy_verify_async(self) -> None:
        await self._in_thread(self.dummy_verify)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self) -> None:
        """Spend the same time as a real check, so unknown usernames are not told apart."""
        self.verify(self._dummy, "not the password")

    @property
    def _dummy(self) -> str:
        if not hasattr(self, "_dummy_hash"):
            self._dummy_hash = self._hasher.hash(secrets.token_hex(8))
        return self._dummy_hash


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class TokenSubject:
    """Whom a valid JWT names, the credentials epoch it was issued in, the id of this sign-in
    (what signing out records as revoked) and when it expires (Unix time)."""

    user_id: int
    epoch: int
    token_id: str
    expires_at: int


class AccessTokens:
    """Short-lived bearer JWTs (HS256) for a user id.

    Each token carries the user's credentials epoch; a password change or a deactivation
    moves the epoch on, so every token issued before it stops working (checked on use). Each
    also carries a random id (``jti``), so signing out can end that one token alone.
    """

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = OctKey.import_key(hashlib.sha256(secret.encode()).digest())
        self.ttl = ttl_seconds
        self._claims = JWTClaimsRegistry(
            iss={"essential": True, "value": _ISSUER},
            sub={"essential": True},
            exp={"essential": True},
        )

    def issue(self, user_id: int, epoch: int) -> IssuedToken:
        now = int(time.time())
        claims = {
            "iss": _ISSUER,
            "sub": str(user_id),
            "iat": now,
            "exp": now + self.ttl,
            "jti": secrets.token_urlsafe(16),
            _EPOCH: epoch,
        }
        return IssuedToken(jwt.encode({"alg": "HS256"}, claims, self._key), self.ttl)

    def subject(self, token: str) -> TokenSubject | None:
        """Whom a valid token names; None when forged, malformed or expired."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
            self._claims.validate(decoded.claims)
            subject = decoded.claims["sub"]
            # Only the canonical form we issue: no signs, spaces or leading zeros, and in range.
            if not (isinstance(subject, str) and _USER_ID.fullmatch(subject)):
                return None
            # Tokens from before epochs existed carry none: they belong to epoch 0.
            epoch = decoded.claims.get(_EPOCH, 0)
            if type(epoch) is not int or epoch < 0:
                return None
            expires_at = decoded.claims["exp"]
            if type(expires_at) is not int:
                return None
            token_id = decoded.claims.get("jti")
            if token_id is None:
                # Issued before tokens had ids: one made of its claims (the same claims are the
                # same token), never of its text, whose base64 may be spelled more than one way.
                canonical = json.dumps(decoded.claims, sort_keys=True, separators=(",", ":"))
                token_id = hashlib.sha256(canonical.encode()).hexdigest()
            elif not (isinstance(token_id, str) and _TOKEN_ID.fullmatch(token_id)):
                return None
            return TokenSubject(int(subject), epoch, token_id, expires_at)
        except (JoseError, ValueError, KeyError, TypeError):
            return None


def new_personal_token() -> tuple[str, str]:
    """A fresh personal access token and the SHA-256 under which it is stored."""
    token = PAT_PREFIX + secrets.token_urlsafe(32)
    return token, hash_personal_token(token)


def hash_personal_token(token: str) -> str:
    # The token carries 256 random bits, so a plain hash is enough (no KDF needed).
    return hashlib.sha256(token.encode()).hexdigest()
