"""Server-rendered pages. For now: the public catalog with search and filters."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from litestar import MediaType, get
from litestar.params import QueryParameter

from registry.assets.schemas import AssetRead, Kind
from registry.catalog.service import CatalogQuery, search
from registry.context import CtxDep, PrincipalDep

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:12px 24px;font-weight:600}
main{max-width:960px;margin:24px auto;padding:0 16px}
form{display:flex;gap:8px;margin-bottom:16px}
input,select,button{font:inherit;padding:6px 10px;border:1px solid #d0d7de;border-radius:6px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:8px 0}
.meta{color:#57606a;font-size:13px}.tag{background:#ddf4ff;border-radius:10px;padding:0 8px;
margin-right:4px;font-size:12px}
"""


def _card(item: AssetRead) -> str:
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in item.tags)
    version = escape(item.latest_version or "no versions yet")
    return (
        f'<div class="card"><strong>{escape(item.title or item.name)}</strong> '
        f'<span class="meta">{escape(item.kind)} · {escape(item.owner)}/{escape(item.name)} · '
        f"{version} · {item.subscription_count} subscribers</span>"
        f"<div>{escape(item.description[:300])}</div><div>{tags}</div></div>"
    )


@get("/", media_type=MediaType.HTML, include_in_schema=False)
async def catalog_page(
    ctx: CtxDep,
    principal: PrincipalDep,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    kind: Annotated[Kind | None, QueryParameter()] = None,
    sort: Annotated[Literal["popular", "newest", "name"], QueryParameter()] = "popular",
) -> str:
    async with ctx.db.read() as session:
        result = await search(session, CatalogQuery(q=q, kind=kind, sort=sort), principal)
    options = "".join(
        f'<option value="{k}"{" selected" if k == kind else ""}>{k}</option>'
        for k in ("workflow", "algorithm", "model", "dataset")
    )
    sorts = "".join(
        f'<option value="{s}"{" selected" if s == sort else ""}>{s}</option>'
        for s in ("popular", "newest", "name")
    )
    cards = "".join(_card(item) for item in result.items) or "<p>No assets match.</p>"
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Gallery</title>"
        f"<style>{_STYLE}</style></head><body><header>Gallery</header><main>"
        f'<form><input name="q" placeholder="Search assets" value="{escape(q or "")}">'
        f'<select name="kind"><option value="">any kind</option>{options}</select>'
        f'<select name="sort">{sorts}</select><button>Search</button></form>'
        f'<p class="meta">{result.total} assets</p>{cards}</main></body></html>'
    )


PAGES = [catalog_page]
