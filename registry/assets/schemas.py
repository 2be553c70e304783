"""Request and response models of assets, versions, whitelists and subscriptions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from registry.documents import servable_object
from registry.models_base import NAME_RE, NAME_RULE
from sdk.vocabulary import Kind as Kind
from sdk.vocabulary import VersionStatus as VersionStatus
from sdk.vocabulary import Visibility as Visibility

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,31}$")
MAX_TAGS = 20


def _name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise ValueError(NAME_RULE)
    return value


def _tags(values: list[str]) -> list[str]:
    seen: list[str] = []
    for raw in values:
        tag = raw.strip().lower()
        if not TAG_RE.fullmatch(tag):
            raise ValueError(
                f"tag {raw!r}: 1-32 characters, lower-case letters, digits, '_', '.', '+' or '-'"
            )
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return seen


Name = Annotated[str, AfterValidator(_name)]
Tags = Annotated[list[str], AfterValidator(_tags)]
Title = Annotated[str, StringConstraints(max_length=200)]
Description = Annotated[str, StringConstraints(max_length=20_000)]
Terms = Annotated[str, StringConstraints(max_length=20_000)]


def _json_bool(value: Any) -> Any:
    # Litestar validates bodies with strict=False, which overrides StrictBool and lets "yes",
    # "true" or 1 count as true: only JSON true and false are booleans here.
    if not isinstance(value, bool):
        raise ValueError("must be a JSON boolean, true or false")
    return value


JSONBool = Annotated[bool, BeforeValidator(_json_bool)]
# A JSON object read back from a column, as it can be served (an unservable one is a note).
StoredObject = Annotated[dict[str, Any], BeforeValidator(servable_object)]


def _enum_list(entry: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(entry.get("enum_list", []), list | None):
        raise ValueError("enum_list must be a list or null")
    return entry


# The interface shape the diff between versions reads: section -> name -> entry ({"type",
# "needs_value", ...}). Interfaces the server computes have it; a publisher's own claim (a
# model's, a dataset's) need not, and is then stored as sent but not compared.
Interface = dict[str, dict[str, Annotated[dict[str, Any], AfterValidator(_enum_list)]]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refuse it here (422), not in the database (500).
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise ValueError("must not contain NUL (U+0000) characters")
        return value


class AssetCreate(Strict):
    kind: Kind
    name: Name
    title: Title = ""
    description: Description = ""
    terms: Terms = ""
    tags: Tags = Field(default_factory=list)
    visibility: Visibility = Visibility.PRIVATE


class AssetUpdate(Strict):
    title: Title | None = None
    description: Description | None = None
    terms: Terms | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None


class AssetRead(BaseModel):
    content_id: str
    kind: Kind
    name: str
    title: str
    description: str
    terms: str
    tags: list[str]
    owner: str
    visibility: Visibility
    subscription_count: int
    latest_version: str | None
    created_at: datetime
    updated_at: datetime


class DependencyRef(Strict):
    content_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Manifest(Strict):
    """What a publisher sends with a version (the ``manifest`` part of the upload)."""

    version: Annotated[str, StringConstraints(max_length=128)] | None = None
    description: Description = ""
    dependencies: list[DependencyRef] = Field(default_factory=list, max_length=200)
    package_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    spec: dict[str, Any] | None = None
    interface: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class VersionRead(BaseModel):
    content_id: str
    version: str
    status: VersionStatus
    description: str
    manifest: StoredObject
    dependencies: list[DependencyRef]
    package_sha256: str | None
    package_size: int | None
    published_by: str
    created_at: datetime
    whitelist: list[str] | None = Field(
        default=None, description="Principals on the whitelist; shown to the owner only."
    )
    bump: Literal["major", "minor", "patch"] | None = Field(
        default=None,
        description="The bump the interface diff against the previous version calls for (on "
        "publish, and in version lists where both versions have a comparable interface).",
    )
    changes: list[dict[str, str]] | None = Field(
        default=None,
        description="Interface changes against the previous version ({impact, message}; on "
        "publish, and in version lists where both versions have a comparable interface).",
    )


class VersionUpdate(Strict):
    status: VersionStatus


class WhitelistChange(Strict):
    principals: list[Annotated[str, StringConstraints(min_length=1, max_length=70)]] = Field(
        min_length=1, max_length=500
    )


class WhitelistRead(BaseModel):
    content_id: str
    version: str
    principals: list[str]
    cascaded_to: list[DependencyRef] = Field(
        description="Dependency versions whose whitelist changed with this one."
    )
    not_cascaded: list[DependencyRef] = Field(
        description="Dependency versions you do not own, left as they are."
    )
    warning: str | None = None


class ImportBlocker(BaseModel):
    content_id: str
    version: str
    reason: str


class ImportCheck(BaseModel):
    content_id: str
    version: str
    importable: bool
    blockers: list[ImportBlocker]


class SubscribeRequest(Strict):
    accept_terms: JSONBool


class SubscriptionRead(BaseModel):
    content_id: str
    kind: Kind
    name: str
    title: str
    owner: str
    latest_version: str | None
    subscribed_at: datetime
    subscribed_version: str | None = Field(
        default=None,
        description="The latest version you could read when you subscribed (null: none yet).",
    )
    new_versions: int = Field(description="Versions published since you subscribed.")
    update_available: bool = Field(
        default=False,
        description="A version newer than subscribed_version is out (latest_version).",
    )
