"""Where catalog time goes: the SQL each query kind runs, its plan and its bare database time.

For every query kind and identity, runs ``registry.catalog.service.search`` in-process with a
statement recorder on the engine, then re-runs each recorded statement on the bare driver
(``sqlite3`` / ``asyncpg``, no SQLAlchemy) for its database-only time and its plan
(``EXPLAIN QUERY PLAN`` / ``EXPLAIN (ANALYZE, BUFFERS)``). Also times the whole in-process
``search()`` call, so HTTP latency splits into framework + service Python + SQL.

    python -m tests.bench.explain --backend sqlite --size 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlmodel import select

from registry.accounts.models import User
from registry.accounts.service import Principal, principal_for
from registry.catalog.service import CatalogQuery, search
from registry.db import Database
from tests.bench import seed as seeding
from tests.bench.harness import ROOT
from tests.support.databases import postgres_database, sqlite_url

KINDS: dict[str, dict[str, Any]] = {
    "text": {"q": "classifier"},
    "text_common": {"q": "model"},
    "text_multi": {"q": "resnet50 classifier"},
    "tag": {"tags": ("pytorch",)},
    "tag_rare": {"tags": ("privacy",)},
    "sort_popular": {"sort": "popular"},
    "sort_newest": {"sort": "newest"},
    "sort_name": {"sort": "name"},
    "last_page_popular": {"sort": "popular", "page": "LAST"},
    "last_page_newest": {"sort": "newest", "page": "LAST"},
    "last_page_name": {"sort": "name", "page": "LAST"},
}
REPEAT = 30


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _recorded_search(
    db: Database, query: CatalogQuery, principal: Principal | None
) -> tuple[float, list[tuple[str, Any]]]:
    recorded: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            recorded.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        async with db.read() as session:
            await search(session, query, principal)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        async with db.read() as session:
            await search(session, query, principal)
        times.append(time.perf_counter() - started)
    return _median_ms(times), recorded


async def _principals(db: Database) -> dict[str, Principal | None]:
    async with db.read() as session:
        user = (await session.exec(select(User).where(User.username == seeding.READER))).one()
        return {"anonymous": None, "reader": await principal_for(session, user)}


async def _last_page(db: Database, params: dict[str, Any], principal: Principal | None) -> int:
    probe = {k: v for k, v in params.items() if k != "page"}
    async with db.read() as session:
        page = await search(session, CatalogQuery(**probe), principal)
    return max(1, -(-page.total // 20))


def _sqlite_bare(path: str, statement: str, parameters: Any) -> tuple[float, str]:
    conn = sqlite3.connect(path)
    try:
        plan = conn.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            conn.execute(statement, parameters).fetchall()
            times.append(time.perf_counter() - started)
        text = "\n".join(f"{'  ' * 0}{row[0]}|{row[1]}| {row[3]}" for row in plan)
        return _median_ms(times), text
    finally:
        conn.close()


async def _pg_bare(dsn: str, statement: str, parameters: Any) -> tuple[float, str]:
    conn = await asyncpg.connect(dsn)
    try:
        args = list(parameters or ())
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            await conn.fetch(statement, *args)
            times.append(time.perf_counter() - started)
        return _median_ms(times), "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


async def explain(url: str, backend: str) -> list[dict[str, Any]]:
    db = Database(url)
    out: list[dict[str, Any]] = []
    try:
        principals = await _principals(db)
        for who, principal in principals.items():
            for kind, params in KINDS.items():
                params = dict(params)
                if params.get("page") == "LAST":
                    params["page"] = await _last_page(db, params, principal)
                query = CatalogQuery(**params)
                search_ms, statements = await _recorded_search(db, query, principal)
                entry: dict[str, Any] = {
                    "identity": who,
                    "kind": kind,
                    "params": {
                        k: list(v) if isinstance(v, tuple) else v for k, v in params.items()
                    },
                    "search_ms_in_process": search_ms,
                    "statements": [],
                }
                for statement, parameters in statements:
                    if backend == "sqlite":
                        path = url.split("///", 1)[1]
                        bare_ms, plan = _sqlite_bare(path, statement, parameters)
                    else:
                        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
                        bare_ms, plan = await _pg_bare(dsn, statement, parameters)
                    entry["statements"].append(
                        {
                            "sql": re.sub(r"\s+", " ", statement),
                            "params": list(parameters or ()),
                            "bare_ms": bare_ms,
                            "plan": plan,
                        }
                    )
                out.append(entry)
    finally:
        await db.dispose()
    return out


def render(results: list[dict[str, Any]], backend: str, size: int) -> str:
    lines = [f"# Catalog query plans: {backend}, {size} assets", ""]
    lines.append("| identity | kind | search() in-process ms | SQL bare ms (per statement) |")
    lines.append("|---|---|---|---|")
    for e in results:
        bare = " + ".join(str(s["bare_ms"]) for s in e["statements"])
        lines.append(f"| {e['identity']} | {e['kind']} | {e['search_ms_in_process']} | {bare} |")
    for e in results:
        lines += ["", f"## {e['identity']} / {e['kind']} {e['params']}", ""]
        for s in e["statements"]:
            lines += [f"bare {s['bare_ms']} ms, params {s['params']}", "```sql", s["sql"], "```"]
            lines += ["```", s["plan"], "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--analyze-sqlite", action="store_true", help="run ANALYZE after seeding")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gallery-explain-") as tmp:
        if args.backend == "sqlite":
            url = sqlite_url(Path(tmp))
            asyncio.run(seeding.seed(url, args.size, analyze_sqlite=args.analyze_sqlite))
            results = asyncio.run(explain(url, "sqlite"))
        else:
            with postgres_database() as url:
                asyncio.run(seeding.seed(url, args.size))
                results = asyncio.run(explain(url, "postgres"))
    suffix = "-analyzed" if args.analyze_sqlite else ""
    name = f"explain-{args.backend}-{args.size}{suffix}"
    (out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    report = render(results, args.backend, args.size)
    (out / f"{name}.md").write_text(report)
    print(report.split("\n## ")[0])
    print(f"full plans: {out / name}.md")


if __name__ == "__main__":
    main()
