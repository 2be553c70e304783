"""Every table model, imported in one place for Alembic's metadata."""

from sqlmodel import SQLModel

from registry.accounts.models import AccessToken, Group, GroupMember, User
from registry.assets.models import (
    Asset,
    AssetTag,
    AssetVersion,
    Subscription,
    VersionDependency,
    VersionWhitelist,
)

metadata = SQLModel.metadata

__all__ = [
    "AccessToken",
    "Asset",
    "AssetTag",
    "AssetVersion",
    "Group",
    "GroupMember",
    "Subscription",
    "User",
    "VersionDependency",
    "VersionWhitelist",
    "metadata",
]
