"""HTTP: the catalog."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import get
from litestar.params import QueryParameter
from pydantic import BaseModel

from registry.assets.schemas import AssetRead, Kind
from registry.catalog.service import CatalogQuery, search
from registry.context import CtxDep, PrincipalDep


class CatalogPageRead(BaseModel):
    items: list[AssetRead]
    total: int
    page: int | None
    page_size: int
    next_cursor: str | None


@get("/assets")
async def catalog(
    ctx: CtxDep,
    principal: PrincipalDep,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    kind: Annotated[Kind | None, QueryParameter()] = None,
    tag: Annotated[list[str] | None, QueryParameter(max_items=10)] = None,
    owner: Annotated[str | None, QueryParameter(max_length=64)] = None,
    name: Annotated[str | None, QueryParameter(max_length=64)] = None,
    sort: Annotated[Literal["popular", "newest", "name"], QueryParameter()] = "popular",
    page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> CatalogPageRead:
    """Search assets you may see: full text ``q``, filters, sort, and page or keyset cursor."""
    query = CatalogQuery(
        q=q,
        kind=kind,
        tags=tuple(tag or ()),
        owner=owner,
        name=name,
        sort=sort,
        page=page,
        page_size=page_size,
        cursor=cursor,
    )
    async with ctx.db.read() as session:
        result = await search(session, query, principal)
    return CatalogPageRead(
        items=result.items,
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        next_cursor=result.next_cursor,
    )
