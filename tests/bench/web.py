"""Web console benchmark (issue 10): catalog page server time at 10k assets, and how soon a
status change reaches an open execution page.

1. **Catalog page.** A database seeded like the registry benchmark (``seed.py``: 10k assets,
   5 versions each), the real app in its own process; a signed-in reader (session cookie) and
   an anonymous visitor ask for ``/`` with each query shape (none, text, tag, kind, each sort,
   the next keyset page). Measured: the server's own time (``Server-Timing: app;dur``, until
   its headers, which for a rendered page is all of its work) and the client's. Baseline in
   the same run: the API's ``/api/v1/assets`` with the same parameters — the page's ratio to
   it is what rendering costs. Bar: page p95 server time < 30 ms.
2. **Live status.** Temporal dev server + worker + app; a run waits at a delayed placeholder
   while the page's event stream (``/api/v1/executions/{id}/events``) is open and, beside it,
   a client polls the record every 10 ms. After *continue*, measured per repetition: when the
   record changed (the poller's view), when the stream delivered it, and the difference — the
   delay the page adds to what the runner already wrote. Bar: < 1 s from the change.

Run: ``make bench-web`` (= ``python -m tests.bench.web``; ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from sdk._session import parse_events
from tests.bench import seed as seeding
from tests.bench.harness import app_server, git_head, log, login, percentile
from tests.support.databases import sqlite_url

PAGE_BAR_MS = 30.0
LIVE_BAR_MS = 1000.0
SECRET = "bench-secret-key-0123456789abcdef0123456789"


def server_ms(answer: httpx.Response) -> float:
    return float(answer.headers["server-timing"].partition(";dur=")[2])


def shapes(info: seeding.SeedInfo) -> dict[str, dict[str, str]]:
    return {
        "first page": {},
        "text": {"q": "classifier"},
        "text two words": {"q": "resnet50 classifier"},
        "tag": {"tag": info.common_tags[0]},
        "rare tag": {"tag": info.rare_tags[0]},
        "kind": {"kind": "model"},
        "newest": {"sort": "newest"},
        "name": {"sort": "name"},
    }


def measure(http: httpx.Client, path: str, params: dict[str, str], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        answer = http.get(path, params=params)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} {params} -> {answer.status_code}: {answer.text[:200]}")
        times.append(server_ms(answer))
    return times


def next_cursor(http: httpx.Client) -> str | None:
    page = http.get("/api/v1/assets", params={"sort": "popular"}).json()
    cursor = page.get("next_cursor")
    return str(cursor) if cursor else None


def catalog(size: int, reps: int, tmp: Path) -> dict[str, Any]:
    data_dir = tmp / f"catalog-{size}"
    data_dir.mkdir()
    url = sqlite_url(data_dir)
    log(f"seeding {size} assets (SQLite)")
    info = asyncio.run(seeding.seed(url, size))
    env = {
        "GALLERY_DATA_DIR": str(data_dir),
        "GALLERY_DATABASE_URL": url,
        "GALLERY_SECRET_KEY": SECRET,
    }
    results: dict[str, Any] = {"size": size, "shapes": {}}
    with app_server(env, tmp) as server:
        token = login(server.base_url, seeding.READER, seeding.PASSWORD)
        reader = httpx.Client(
            base_url=server.base_url, cookies={"gallery_session": token}, timeout=30
        )
        anonymous = httpx.Client(base_url=server.base_url, timeout=30)
        cursor = next_cursor(reader)
        all_page: list[float] = []
        all_api: list[float] = []
        for who, http in (("signed in", reader), ("anonymous", anonymous)):
            for name, params in {**shapes(info), "next page": {"cursor": cursor or ""}}.items():
                measure(http, "/", params, 3)  # warm up
                page = measure(http, "/", params, reps)
                api = measure(http, "/api/v1/assets", params, reps)
                all_page += page
                all_api += api
                results["shapes"][f"{who}: {name}"] = {
                    "page_p50": statistics.median(page),
                    "page_p95": percentile(page, 95),
                    "api_p50": statistics.median(api),
                    "api_p95": percentile(api, 95),
                }
                log(
                    f"{who:9} {name:15} page p95 {percentile(page, 95):6.1f} ms, "
                    f"API p95 {percentile(api, 95):6.1f} ms"
                )
        results["page_p95"] = percentile(all_page, 95)
        results["api_p95"] = percentile(all_api, 95)
        results["page_p50"] = statistics.median(all_page)
        results["api_p50"] = statistics.median(all_api)
    return results


def live(reps: int, tmp: Path) -> dict[str, Any]:
    import sdk as wf
    from tests.runner.flows import imported, start, tool_dir
    from tests.support.gallery import fast_settings, running_gallery
    from tests.support.runner import running_worker, temporal_server, wait_for

    data_dir = tmp / "live"
    data_dir.mkdir()
    rows: list[dict[str, float]] = []
    with temporal_server(tmp / "temporal") as temporal:
        settings = fast_settings(
            data_dir=data_dir,
            database_url=sqlite_url(data_dir),
            temporal_address=temporal.address,
            task_queue=f"bench-{uuid.uuid4().hex[:8]}",
        )
        with running_gallery(settings, "sqlite") as gallery, running_worker(settings):
            client = gallery.user("live")
            token = str(client.headers["authorization"]).removeprefix("Bearer ")
            label = wf.Placeholder(
                name="label", placeholder_type=wf.PlaceholderType.STR, delay=True
            )
            code = tool_dir(tmp)
            from tests.runner.flows import job

            gate = job("gate", code, parameters={"label": label})
            workflow_id = imported(client, wf.Workflow(name="live", desc="", steps=[gate]))
            for rep in range(reps):
                execution = start(client, workflow_id)
                eid = execution["id"]
                wait_for(client, eid, lambda e: e["status"] == "waiting_input")
                times = one_change(gallery.base_url, token, client, eid)
                rows.append(times)
                wait_for(client, eid)
                log(
                    f"rep {rep + 1}: record changed {times['record_ms']:.0f} ms after continue,"
                    f" event {times['event_ms']:.0f} ms; page delay {times['delay_ms']:.0f} ms"
                )
    delays = [r["delay_ms"] for r in rows]
    events = [r["event_ms"] for r in rows]
    return {
        "reps": reps,
        "delay_p50": statistics.median(delays),
        "delay_max": max(delays),
        "event_p50": statistics.median(events),
        "event_max": max(events),
        "rows": rows,
    }


def one_change(base: str, token: str, client: httpx.Client, eid: str) -> dict[str, float]:
    """Continue the waiting step; when did the record change, when did the stream say so."""
    marks: dict[str, float] = {}
    opened = threading.Event()
    headers = {"authorization": f"Bearer {token}"}

    def stream() -> None:
        with httpx.stream(
            "GET", f"{base}/api/v1/executions/{eid}/events", headers=headers, timeout=60
        ) as answer:
            for event, data in parse_events(answer.iter_lines()):
                if event != "execution":
                    return
                state = json.loads(data)["steps"][0]["status"]
                if state == "waiting_input":
                    opened.set()
                elif "event" not in marks:
                    marks["event"] = time.perf_counter()
                    return

    def poll() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while "record" not in marks and time.perf_counter() - marks["sent"] < 30:
                state = http.get(f"/api/v1/executions/{eid}").json()["steps"][0]["status"]
                if state != "waiting_input":
                    marks["record"] = time.perf_counter()
                time.sleep(0.01)

    reader = threading.Thread(target=stream)
    reader.start()
    opened.wait(30)
    marks["sent"] = time.perf_counter()
    poller = threading.Thread(target=poll)
    poller.start()
    answer = client.post(f"/executions/{eid}/steps/gate/continue", json={"inputs": {"label": "x"}})
    answer.raise_for_status()
    reader.join(30)
    poller.join(30)
    sent = marks["sent"]
    return {
        "record_ms": (marks["record"] - sent) * 1000,
        "event_ms": (marks["event"] - sent) * 1000,
        "delay_ms": (marks["event"] - marks["record"]) * 1000,
    }


def report(results: dict[str, Any]) -> str:
    c, v = results["catalog"], results["live"]
    lines = [
        f"# Web console benchmark ({results['started']}, git {results['git']})",
        "",
        "| what | measured | baseline (same run) | bar | result |",
        "|---|---|---|---|---|",
        f"| catalog page p95 server time at {c['size']} assets | {c['page_p95']:.1f} ms "
        f"(p50 {c['page_p50']:.1f}) | API /assets p95 {c['api_p95']:.1f} ms (p50 "
        f"{c['api_p50']:.1f}); page/API {c['page_p95'] / c['api_p95']:.2f}x | < {PAGE_BAR_MS:g} ms"
        f" | {'PASS' if c['page_p95'] < PAGE_BAR_MS else 'FAIL'} |",
        f"| status change to open page (event after record), {v['reps']} runs | p50 "
        f"{v['delay_p50']:.0f} ms, max {v['delay_max']:.0f} ms | continue to record change p50 "
        f"{statistics.median(r['record_ms'] for r in v['rows']):.0f} ms | < {LIVE_BAR_MS:g} ms"
        f" | {'PASS' if v['delay_max'] < LIVE_BAR_MS else 'FAIL'} |",
        "",
        "Per query shape (p95 server ms, page / API):",
        "",
    ]
    for name, row in c["shapes"].items():
        lines.append(f"- {name}: {row['page_p95']:.1f} / {row['api_p95']:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.web")
    parser.add_argument("--quick", action="store_true", help="1k assets, fewer repetitions")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    size = 1000 if args.quick else args.size
    reps = 20 if args.quick else 100
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="gallery-bench-web-") as name:
        tmp = Path(name)
        results = {"started": started, "git": git_head(), "catalog": catalog(size, reps, tmp)}
        results["live"] = live(5 if args.quick else 20, tmp)
    text = report(results)
    print(text)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    stamp = started.replace(":", "").replace("-", "")
    (out / f"web-{stamp}.md").write_text(text + "\n")
    (out / f"web-{stamp}.json").write_text(json.dumps(results, indent=2))
    ok = results["catalog"]["page_p95"] < PAGE_BAR_MS and results["live"]["delay_max"] < LIVE_BAR_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
