"""Catalog search: full-text, filters, sorting and keyset or page pagination."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false, func, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.models import User
from registry.accounts.service import Principal
from registry.assets.crud import dialect_name, to_asset_read
from registry.assets.models import Asset, AssetTag
from registry.assets.schemas import TAG_RE, AssetRead
from registry.assets.version_reads import visible_latest
from registry.errors import InvalidInput
from registry.models_base import NAME_RE

Sort = Literal["popular", "newest", "name"]
_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8
_INT4_MAX = 2**31 - 1  # ids and counts are 32-bit integer columns on PostgreSQL


@dataclass(frozen=True)
class CatalogQuery:
    q: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    sort: Sort = "popular"
    page: int = 1
    page_size: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class CatalogPage:
    items: list[AssetRead]
    total: int
    page: int | None
    page_size: int
    next_cursor: str | None


def search_terms(q: str | None) -> list[str]:
    """Words of the query; punctuation and operators are dropped, never interpreted."""
    return [t.lower() for t in _TOKEN.findall(q or "")][:MAX_TERMS]


def _text_filter(dialect: str, terms: list[str]) -> ColumnElement[bool]:
    if dialect == "sqlite":
        # Each word as a quoted FTS5 prefix term; quotes inside were removed by the tokenizer.
        match = " ".join(f'"{t}"*' for t in terms)
        ids = text("SELECT rowid FROM asset_fts WHERE asset_fts MATCH :fts").bindparams(fts=match)
        return col(Asset.id).in_(ids)
    query = " & ".join(f"{t}:*" for t in terms)
    return text("asset.search_vector @@ to_tsquery('simple', :tsq)").bindparams(tsq=query)  # type: ignore[return-value]


def _sort_columns(sort: Sort) -> list[tuple[Any, bool]]:
    """(column, descending) pairs; the id breaks ties so keyset pages are stable."""
    if sort == "popular":
        return [(col(Asset.subscription_count), True), (col(Asset.id), True)]
    if sort == "newest":
        return [(col(Asset.created_at), True), (col(Asset.id), True)]
    return [(col(Asset.name), False), (col(Asset.id), False)]


def _encode_cursor(sort: Sort, asset: Asset) -> str:
    key: Any = {
        "popular": asset.subscription_count,
        "newest": asset.created_at.isoformat(),
        "name": asset.name,
    }[sort]
    raw = json.dumps([sort, key, asset.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_int4(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT4_MAX


def _decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    # A cursor comes back from the client: check every part, so a tampered one is a 422 and
    # never reaches the database as a value it cannot bind (huge ints, naive times, NULs).
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, last_id = json.loads(raw)
        if cursor_sort != sort or not _is_int4(last_id):
            raise ValueError
        if sort == "newest":
            key = datetime.fromisoformat(key)
            if key.tzinfo is None:
                raise ValueError
        elif (sort == "popular" and not _is_int4(key)) or (
            sort == "name" and not (isinstance(key, str) and NAME_RE.fullmatch(key))
        ):
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput.field(
            "cursor", "cursor", "not a cursor from a previous page of this sort order"
        ) from None
    return key, last_id


def _after(sort: Sort, key: Any, last_id: int) -> ColumnElement[bool]:
    (column, descending), (id_column, _) = _sort_columns(sort)
    if descending:
        return or_(column < key, and_(column == key, id_column < last_id))
    return or_(column > key, and_(column == key, id_column > last_id))


async def search(
    session: AsyncSession, query: CatalogQuery, principal: Principal | None
) -> CatalogPage:
    filters: list[ColumnElement[bool]] = []
    terms = search_terms(query.q)
    if terms:
        filters.append(_text_filter(dialect_name(session), terms))
    if query.kind:
        filters.append(col(Asset.kind) == query.kind)
    for tag in query.tags:
        if not TAG_RE.fullmatch(tag.lower()):
            # No asset can carry it; don't send it to the database (PostgreSQL refuses NUL).
            filters.append(false())
            continue
        filters.append(
            col(Asset.id).in_(
                select(col(AssetTag.asset_id)).where(col(AssetTag.tag) == tag.lower())
            )
        )
    if query.name is not None:
        # An exact name: a valid one is compared, anything else cannot match.
        valid = NAME_RE.fullmatch(query.name) is not None
        filters.append(col(Asset.name) == query.name if valid else false())
    if query.owner and not NAME_RE.fullmatch(query.owner):
        filters.append(false())
    elif query.owner:
        owner_id = select(col(User.id)).where(col(User.username) == query.owner).scalar_subquery()
        filters.append(col(Asset.owner_id) == owner_id)

    # The total as a sum over disjoint parts of what the caller may read, in one statement.
    counts = [
        select(func.count()).select_from(Asset).where(part, *filters).scalar_subquery()
        for part in access.readable_parts(principal)
    ]
    total = int(await session.scalar(select(sum(counts[1:], counts[0]))) or 0)
    conditions = [access.readable_assets(principal), *filters]

    page_conditions = list(conditions)
    if query.cursor:
        page_conditions.append(_after(query.sort, *_decode_cursor(query.sort, query.cursor)))
    offset = 0 if query.cursor else (query.page - 1) * query.page_size
    # A deep page is read from the other end of the order, so OFFSET skips the short side and
    # the last page costs what the first does.
    backwards = not query.cursor and offset > total // 2
    forward = [c.desc() if desc else c.asc() for c, desc in _sort_columns(query.sort)]
    if backwards:
        skip = max(0, total - offset - query.page_size)
        limit = max(0, total - offset - skip)
        order = [c.asc() if desc else c.desc() for c, desc in _sort_columns(query.sort)]
    else:
        skip, limit, order = offset, query.page_size + 1, forward
    # Order and cut ids first, then load only the page's rows: sorting thousands of matches
    # then touches narrow index entries, not whole rows.
    page_ids = (
        select(col(Asset.id)).where(*page_conditions).order_by(*order).limit(limit).offset(skip)
    )
    statement = (
        select(Asset, col(User.username))
        .join(User, col(User.id) == col(Asset.owner_id))
        .where(col(Asset.id).in_(page_ids))
        .order_by(*order)
    )
    rows = list((await session.exec(statement)).all()) if limit else []
    if backwards:
        rows.reverse()
        more = offset + query.page_size < total
    else:
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
    latest = await visible_latest(session, [asset for asset, _ in rows], principal)
    items = [to_asset_read(asset, owner, latest) for asset, owner in rows]
    next_cursor = _encode_cursor(query.sort, rows[-1][0]) if more and rows else None
    return CatalogPage(
        items=items,
        total=total,
        page=None if query.cursor else query.page,
        page_size=query.page_size,
        next_cursor=next_cursor,
    )
