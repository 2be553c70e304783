"""Assets, their versions, whitelists, dependencies and subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow
from sdk.vocabulary import Kind, VersionStatus, Visibility

KINDS = tuple(Kind)
VISIBILITIES = tuple(Visibility)
VERSION_STATUSES = tuple(VersionStatus)


class Asset(SQLModel, table=True):
    __tablename__ = "asset"
    __table_args__ = (
        UniqueConstraint("owner_id", "kind", "name", name="uq_asset_owner_kind_name"),
        Index("ix_asset_popular", "subscription_count", "id"),
        Index("ix_asset_newest", "created_at", "id"),
        Index("ix_asset_name", "name", "id"),
        Index("ix_asset_kind", "kind", "id"),
        Index("ix_asset_visibility", "visibility", "id"),
        Index("ix_asset_access", "visibility", "owner_id"),
        Index("ix_asset_visible_popular", "visibility", "subscription_count", "id"),
        Index("ix_asset_visible_newest", "visibility", "created_at", "id"),
        Index("ix_asset_visible_name", "visibility", "name", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    content_id: str = Field(max_length=36, unique=True, index=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=64)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="")
    terms: str = Field(default="")
    tags_text: str = Field(default="", max_length=1000)
    owner_id: int = Field(foreign_key="gallery_user.id", index=True)
    visibility: str = Field(default="private", max_length=16)
    subscription_count: int = 0
    latest_version: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AssetTag(SQLModel, table=True):
    __tablename__ = "asset_tag"
    __table_args__ = (Index("ix_asset_tag_tag", "tag", "asset_id"),)

    asset_id: int = Field(foreign_key="asset.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(max_length=32, primary_key=True)


class AssetVersion(SQLModel, table=True):
    __tablename__ = "asset_version"
    __table_args__ = (
        UniqueConstraint("asset_id", "version", name="uq_version_asset_version"),
        Index("ix_version_order", "asset_id", "major", "minor", "patch"),
    )

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")
    version: str = Field(max_length=128)
    major: int
    minor: int
    patch: int
    prerelease: str | None = Field(default=None, max_length=100)
    status: str = Field(default="active", max_length=16)
    description: str = Field(default="")
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    package_key: str | None = Field(default=None, max_length=255)
    package_sha256: str | None = Field(default=None, max_length=64)
    package_size: int | None = None
    published_by: int = Field(foreign_key="gallery_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class VersionWhitelist(SQLModel, table=True):
    """A principal allowed to read a version of a ``group``-visibility asset."""

    __tablename__ = "version_whitelist"
    __table_args__ = (
        Index("ix_whitelist_principal", "principal_kind", "principal_id"),
        # Covers "which assets are shared with these principals" for the catalog filter.
        Index("ix_whitelist_principal_asset", "principal_kind", "principal_id", "asset_id"),
    )

    version_id: int = Field(foreign_key="asset_version.id", primary_key=True, ondelete="CASCADE")
    principal_kind: str = Field(max_length=8, primary_key=True)  # "user" | "group"
    principal_id: int = Field(primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")


class VersionDependency(SQLModel, table=True):
    __tablename__ = "version_dependency"

    version_id: int = Field(foreign_key="asset_version.id", primary_key=True, ondelete="CASCADE")
    depends_on_id: int = Field(foreign_key="asset_version.id", primary_key=True, index=True)


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"

    user_id: int = Field(foreign_key="gallery_user.id", primary_key=True, ondelete="CASCADE")
    asset_id: int = Field(foreign_key="asset.id", primary_key=True, index=True, ondelete="CASCADE")
    terms_accepted_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
