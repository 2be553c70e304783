"""What I published: visibility, the status of each version (deprecate, yank) and its
whitelist, through the same services as the API's PATCH and whitelist routes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from litestar import get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.crud import find_asset, update_asset
from registry.assets.schemas import (
    AssetRead,
    AssetUpdate,
    VersionRead,
    VersionUpdate,
    Visibility,
    WhitelistChange,
)
from registry.assets.version_reads import find_version, list_versions, versions_read
from registry.assets.whitelists import change_whitelist
from registry.catalog.service import CatalogQuery, search
from registry.context import current_principal
from registry.errors import FieldError, InvalidInput, pydantic_errors
from registry.params import ContentId, Version
from registry.versions.service import set_status
from sdk.vocabulary import VersionStatus
from web.render import AnyRequest, ctx_of, form_data, page, see_other

PAGE_SIZE = 20
SIGN_IN = "/login?next=/my/assets"
_NAMES = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Published:
    asset: AssetRead
    versions: list[VersionRead]
    whitelist_note: str | None


@dataclass(frozen=True)
class Problem:
    """What went wrong in one form of the page: ``form`` names it, ``errors`` by field."""

    form: str
    errors: dict[str, FieldError] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    """What was sent, to fill the form in again."""

    @classmethod
    def of(
        cls,
        form: str,
        errors: list[FieldError],
        values: dict[str, str],
        rename: dict[str, str] | None = None,
    ) -> Problem:
        found: dict[str, FieldError] = {}
        for error in errors:
            name = (rename or {}).get(error.field, error.field)
            found.setdefault(name, FieldError(name, error.rule, error.message))
        return cls(form, found, values)


async def published_by(
    session: AsyncSession, user: Principal, cursor: str | None
) -> tuple[list[Published], str | None, int]:
    """The caller's assets, newest first, a page at a time, with every version."""
    found = await search(
        session,
        CatalogQuery(owner=user.username, sort="newest", page_size=PAGE_SIZE, cursor=cursor),
        user,
    )
    items = []
    for item in found.items:
        asset = await find_asset(session, item.content_id, user)
        rows = await list_versions(session, asset, user)
        note = None
        if not access.whitelist_applies(asset):
            note = (
                f"This asset is {asset.visibility}: whitelists let people in only while its "
                "visibility is group."
            )
        items.append(Published(item, await versions_read(session, asset, rows, user), note))
    return items, found.next_cursor, found.total


async def _render(
    request: AnyRequest,
    user: Principal,
    cursor: str | None,
    *,
    problem: Problem | None = None,
    status_code: int = 200,
) -> Template:
    error = None
    try:
        async with ctx_of(request).db.read() as session:
            items, next_cursor, total = await published_by(session, user, cursor or None)
    except InvalidInput as exc:  # a cursor from somewhere else
        items, next_cursor, total = [], None, 0
        error, status_code = exc.detail, 422
    return await page(
        request,
        "my_assets.html",
        status_code=status_code,
        title="My assets",
        items=items,
        next_cursor=next_cursor,
        total=total,
        cursor=cursor or "",
        problem=problem,
        page_error=error,
        visibilities=[v.value for v in Visibility],
        statuses=[s.value for s in VersionStatus],
    )


@get("/my/assets", include_in_schema=False)
async def my_assets_page(
    request: AnyRequest,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> Template | Redirect:
    user = await current_principal(request)
    if user is None:
        return see_other(SIGN_IN)
    return await _render(request, user, cursor)


async def _refused(
    request: AnyRequest,
    user: Principal,
    form: dict[str, str],
    name: str,
    exc: InvalidInput,
    rename: dict[str, str] | None = None,
) -> Template:
    """The page again (at the form's page of assets), form ``name`` saying why it was refused."""
    problem = Problem.of(name, exc.errors, form, rename)
    return await _render(request, user, form.get("cursor"), problem=problem, status_code=exc.status)


def _back(content_id: str, cursor: str | None) -> str:
    query = f"?{urlencode({'cursor': cursor})}" if cursor else ""
    return f"/my/assets{query}#asset-{content_id}"


Change = Callable[[AsyncSession, Principal, dict[str, str]], Awaitable[None]]
"""What one form of the page does with the submitted fields, inside one write transaction;
InvalidInput when the fields are refused."""


async def _change(
    request: AnyRequest,
    content_id: str,
    name: str,
    change: Change,
    *,
    all_at: Callable[[dict[str, str]], str] | None = None,
) -> Template | Redirect:
    """A form of one of my assets: sign in first; the change; refused, the page again with
    form ``name`` saying why (every error at the field ``all_at`` names, if given); else back
    to the asset."""
    user = await current_principal(request)
    if user is None:
        return see_other(SIGN_IN)
    form = await form_data(request)
    try:
        async with ctx_of(request).db.write() as session:
            await change(session, user, form)
    except InvalidInput as exc:
        rename = None if all_at is None else {e.field: all_at(form) for e in exc.errors}
        return await _refused(request, user, form, name, exc, rename)
    return see_other(_back(content_id, form.get("cursor")))


@post("/my/assets/{content_id:str}/visibility", include_in_schema=False)
async def set_visibility(request: AnyRequest, content_id: ContentId) -> Template | Redirect:
    """Public, group (whitelists decide) or private."""

    async def change(session: AsyncSession, user: Principal, form: dict[str, str]) -> None:
        try:
            data = AssetUpdate(visibility=form.get("visibility", ""))  # type: ignore[arg-type]
        except ValidationError as exc:
            raise InvalidInput.of("visibility", pydantic_errors(exc)) from None
        asset = await find_asset(session, content_id, user, for_update=True)
        await update_asset(session, asset=asset, data=data, principal=user)

    return await _change(request, content_id, f"vis-{content_id}", change)


@post("/my/assets/{content_id:str}/versions/{version:str}/status", include_in_schema=False)
async def set_version_status(
    request: AnyRequest, content_id: ContentId, version: Version
) -> Template | Redirect:
    """Deprecate (still usable, with a warning) or yank (no new imports or runs)."""

    async def change(session: AsyncSession, user: Principal, form: dict[str, str]) -> None:
        try:
            data = VersionUpdate(status=form.get("status", ""))  # type: ignore[arg-type]
        except ValidationError as exc:
            raise InvalidInput.of("status", pydantic_errors(exc)) from None
        asset = await find_asset(session, content_id, user, for_update=True)
        row = await find_version(session, asset, version, user)
        await set_status(session, asset=asset, version=row, status=data.status, principal=user)

    return await _change(request, content_id, f"status-{content_id}-{version}", change)


def _whitelist_field(form: dict[str, str]) -> str:
    """The field a whitelist form fills: ``remove`` (one entry) or ``add``."""
    return "remove" if "remove" in form else "add"


@post("/my/assets/{content_id:str}/versions/{version:str}/whitelist", include_in_schema=False)
async def edit_whitelist(
    request: AnyRequest, content_id: ContentId, version: Version
) -> Template | Redirect:
    """``add``: user names and ``group:<name>`` entries (spaces or commas between them);
    ``remove``: one entry. The change cascades to dependency versions I own."""

    async def change(session: AsyncSession, user: Principal, form: dict[str, str]) -> None:
        where = _whitelist_field(form)
        names = [n for n in _NAMES.split(form.get(where, "")) if n]
        if not names:
            raise InvalidInput.field(
                where, "required", "name at least one user, or a group written group:<name>"
            )
        try:
            data = WhitelistChange(principals=names)
        except ValidationError as exc:
            raise InvalidInput.of("whitelist", pydantic_errors(exc)) from None
        asset = await find_asset(session, content_id, user, for_update=True)
        row = await find_version(session, asset, version, user)
        await change_whitelist(
            session,
            asset=asset,
            version=row,
            names=data.principals,
            add=where == "add",
            principal=user,
        )

    return await _change(
        request, content_id, f"wl-{content_id}-{version}", change, all_at=_whitelist_field
    )


PAGES = [my_assets_page, set_visibility, set_version_status, edit_whitelist]
