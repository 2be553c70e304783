"""Users, groups, personal access tokens and signed-out bearer tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow


class User(SQLModel, table=True):
    __tablename__ = "gallery_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    is_admin: bool = False
    is_active: bool = True
    # Moves on at every password change and deactivation; bearer JWTs carry the epoch they
    # were issued in, and one from an earlier epoch is refused.
    credentials_epoch: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Group(SQLModel, table=True):
    __tablename__ = "gallery_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"

    group_id: int = Field(foreign_key="gallery_group.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="gallery_user.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class AccessToken(SQLModel, table=True):
    """A personal access token; only its SHA-256 is stored."""

    __tablename__ = "access_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="gallery_user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    token_hash: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class RevokedToken(SQLModel, table=True):
    """A bearer JWT ended before its time by signing out (its ``jti``); kept until it would
    have expired anyway, then pruned."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(index=True)
