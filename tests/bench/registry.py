"""Registry benchmark (`make bench-registry`): catalog search, publish and package transfer.

    python -m tests.bench.registry [--sizes 1000,10000] [--backends sqlite,postgres] [--quick]

Seeds each (backend, size) database directly, serves the real app (``web.app.create_app``)
under uvicorn in a separate process on a free loopback port, and measures over HTTP with
keep-alive httpx clients. Prints a Markdown table (target, measured, pass/fail) and writes it
plus the raw JSON to ``bench-results/``. See tests/bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from minio import Minio

from tests.bench import seed as seeding
from tests.bench.harness import (
    ROOT,
    AppServer,
    CpuWatch,
    app_server,
    client,
    git_head,
    log,
    login,
    moto_endpoint,
    run_load,
    summary,
)
from tests.support.databases import postgres_database, postgres_unavailable, sqlite_url

PAGE = 20
SECRET = "bench-secret-key-0123456789abcdef0123456789"
LATENCY_TARGET_MS = 15.0
RPS_TARGET = 160.0
PUBLISH_RPS_TARGET = 400.0
PUBLISH_P99_TARGET_MS = 100.0
TRANSFER_RATIO_TARGET = 0.8
S3_KEYS = {"access": "bench", "secret": "bench-secret", "bucket": "gallery"}
MiB = 1024 * 1024


# --------------------------------------------------------------------------- configuration


class Plan:
    """How much to do; ``--quick`` shrinks everything so a smoke run takes ~2 minutes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quick: bool = args.quick
        self.sizes: list[int] = sorted(int(s) for s in args.sizes.split(","))
        self.backends: list[str] = [b.strip() for b in args.backends.split(",") if b.strip()]
        self.warmup = 5 if self.quick else 20
        self.per_kind = 30 if self.quick else 200
        self.kind_time_cap = 10.0 if self.quick else 30.0
        self.walk_pages = 60 if self.quick else 1000
        self.concurrency_seconds = 4.0 if self.quick else 20.0
        self.publishes = 200 if self.quick else 2000
        self.processes: int = args.client_procs
        self.threads: int = 8 // self.processes
        self.transfer_sizes = [1 * MiB, 100 * MiB]
        self.transfer_reps = {1 * MiB: 3 if self.quick else 10, 100 * MiB: 1 if self.quick else 3}
        self.skip_transfer: bool = args.skip_transfer
        self.skip_publish: bool = args.skip_publish
        self.primary = 10_000 if 10_000 in self.sizes else max(self.sizes)


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        yield sqlite_url(directory)
        return
    with postgres_database() as url:
        yield url


def server_env(data_dir: Path, url: str, s3: str | None = None) -> dict[str, str]:
    env = {
        "GALLERY_DATA_DIR": str(data_dir),
        "GALLERY_DATABASE_URL": url,
        "GALLERY_SECRET_KEY": SECRET,
    }
    if s3:
        env.update(
            GALLERY_S3_ENDPOINT=s3,
            GALLERY_S3_ACCESS_KEY=S3_KEYS["access"],
            GALLERY_S3_SECRET_KEY=S3_KEYS["secret"],
            GALLERY_S3_BUCKET=S3_KEYS["bucket"],
        )
    return env


# --------------------------------------------------------------------------- catalog queries


def query_kinds(info: seeding.SeedInfo) -> dict[str, list[dict[str, Any]]]:
    """Parameter sets per query kind; each kind cycles through its list."""
    common, rare = info.common_tags, info.rare_tags
    return {
        "text": [{"q": q} for q in ("classifier", "medical", "resnet50", "model", "segm")],
        "text_multi": [
            {"q": q}
            for q in ("resnet50 classifier", "bert medical", "quantized detector", "fast lstm")
        ],
        "tag": [{"tag": t} for t in (common[0], common[2], rare[0], rare[2])],
        "filter_kind_tag": [{"kind": "model", "tag": common[1]}, {"kind": "dataset"}],
        "sort_popular": [{"sort": "popular"}],
        "sort_newest": [{"sort": "newest"}],
        "sort_name": [{"sort": "name"}],
        "last_page_popular": [{"sort": "popular", "page": "LAST"}],
        "last_page_newest": [{"sort": "newest", "page": "LAST"}],
        "last_page_name": [{"sort": "name", "page": "LAST"}],
    }


def resolve_last(http: httpx.Client, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("page") != "LAST":
        return params
    probe = {k: v for k, v in params.items() if k != "page"}
    total = http.get("/assets", params=probe).json()["total"]
    return {**probe, "page": max(1, math.ceil(total / PAGE))}


def timed_get(http: httpx.Client, params: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = http.get("/assets", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"GET /assets {params} → {answer.status_code}: {answer.text[:300]}")
    return elapsed, answer


def keyset_walk(
    http: httpx.Client, sort: str, max_pages: int, time_cap: float = 120.0
) -> dict[str, Any]:
    """Follow next_cursor from the first page; latencies and what was seen."""
    deadline = time.perf_counter() + time_cap
    latencies: list[float] = []
    seen: list[str] = []
    cursor: str | None = None
    total = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"sort": sort, "page_size": PAGE}
        if cursor:
            params["cursor"] = cursor
        elapsed, answer = timed_get(http, params)
        body = answer.json()
        if total is None:
            total = body["total"]
        latencies.append(elapsed)
        seen.extend(item["content_id"] for item in body["items"])
        cursor = body["next_cursor"]
        if not cursor or time.perf_counter() > deadline:
            break
    return {"latencies": latencies, "seen": seen, "total": total, "complete": cursor is None}


def offset_walk(http: httpx.Client, sort: str, max_pages: int) -> list[str]:
    seen: list[str] = []
    for page in range(1, max_pages + 1):
        _, answer = timed_get(http, {"sort": sort, "page": page, "page_size": PAGE})
        items = answer.json()["items"]
        seen.extend(item["content_id"] for item in items)
        if len(items) < PAGE:
            break
    return seen


def measure_latencies(
    server: AppServer, tokens: dict[str, str | None], info: seeding.SeedInfo, plan: Plan
) -> tuple[dict[str, Any], list[str]]:
    """Sequential requests per (identity, kind); returns stats and some cursors for reuse."""
    results: dict[str, Any] = {}
    cursors: list[str] = []
    for identity, token in tokens.items():
        per_identity: dict[str, Any] = {}
        watch = CpuWatch(server.pid)
        with client(server.base_url, token) as http:
            for kind, param_sets in query_kinds(info).items():
                params = [resolve_last(http, p) for p in param_sets]
                for i in range(plan.warmup):
                    timed_get(http, params[i % len(params)])
                latencies: list[float] = []
                cpu0 = server.cpu()
                started = time.perf_counter()
                for i in range(plan.per_kind):
                    elapsed, _ = timed_get(http, params[i % len(params)])
                    latencies.append(elapsed)
                    if time.perf_counter() - started > plan.kind_time_cap:
                        break
                stats = summary(latencies)
                stats["server_cpu_ms_per_req"] = round(
                    (server.cpu() - cpu0) * 1000 / len(latencies), 2
                )
                stats["params"] = params
                per_identity[kind] = stats
            # Keyset walk over the whole catalog (popular: many ties on the count).
            walk = keyset_walk(http, "popular", plan.walk_pages, plan.kind_time_cap * 2)
            stats = summary(walk["latencies"])
            unique = len(set(walk["seen"]))
            stats.update(
                pages=len(walk["latencies"]),
                items=len(walk["seen"]),
                unique=unique,
                total=walk["total"],
                complete=walk["complete"],
                consistent=unique == len(walk["seen"])
                and (not walk["complete"] or unique == walk["total"]),
            )
            per_identity["keyset_walk"] = stats
            if identity == "reader":
                cursors.extend(_walk_cursors(http, 40))
        results.setdefault("machine_cpu", {})[identity] = watch.result()
        results[identity] = per_identity
        log(
            f"  {identity}: "
            + ", ".join(f"{k} p95={v['p95']}" for k, v in per_identity.items())
            + f"; machine {results['machine_cpu'][identity]}"
        )
    return results, cursors


def _walk_cursors(http: httpx.Client, pages: int) -> list[str]:
    cursors = []
    cursor = None
    for _ in range(pages):
        params: dict[str, Any] = {"sort": "popular"}
        if cursor:
            params["cursor"] = cursor
        cursor = http.get("/assets", params=params).json()["next_cursor"]
        if not cursor:
            break
        cursors.append(cursor)
    return cursors


def measure_concurrency(
    server: AppServer,
    reader_token: str,
    info: seeding.SeedInfo,
    cursors: list[str],
    plan: Plan,
    latency: dict[str, Any],
) -> dict[str, Any]:
    """8 concurrent searchers (P processes x T threads), a mix of every query kind."""
    requests: list[Any] = []
    for kind in query_kinds(info):
        for who in (None, 0):
            identity = "anonymous" if who is None else "reader"
            for params in latency[identity][kind]["params"]:
                requests.append(("GET", "/assets", params, who))
    for cursor in cursors:
        requests.append(("GET", "/assets", {"sort": "popular", "cursor": cursor}, 0))
    # Interleave so every worker sees every kind.
    requests = [requests[(i * 7) % len(requests)] for i in range(len(requests))]
    cpu0 = server.cpu()
    watch = CpuWatch(server.pid)
    result = run_load(
        server.base_url,
        requests,
        tokens=[reader_token],
        processes=plan.processes,
        threads=plan.threads,
        duration=plan.concurrency_seconds,
    )
    server_cpu = server.cpu() - cpu0 - 0.0
    done = len(result.latencies_ms)
    stats = summary(result.latencies_ms)
    stats.update(
        clients=f"{plan.processes} processes x {plan.threads} threads",
        seconds=round(result.wall_s, 2),
        requests=done,
        rps=round(done / result.wall_s, 1),
        statuses={str(k): v for k, v in result.statuses.items()},
        errors=result.errors[:5],
        server_cpu_s=round(server_cpu, 2),
        server_cpu_ms_per_req=round(server_cpu * 1000 / max(done, 1), 2),
        client_cpu_s=round(result.client_cpu_s, 2),
        client_cpu_ms_per_req=round(result.client_cpu_s * 1000 / max(done, 1), 2),
        cpu=watch.result(),
    )
    log(f"  concurrency: {stats['rps']} req/s, p95 {stats['p95']} ms ({stats['clients']})")
    return stats


def _create_assets(
    server: AppServer, token: str, stop: threading.Event, created: list[str]
) -> None:
    """Create public assets (new newest-first rows) until told to stop."""
    with client(server.base_url, token) as pub:
        while not stop.is_set():
            answer = pub.post(
                "/assets",
                json={
                    "kind": "model",
                    "name": "s" + uuid.uuid4().hex[:12],
                    "visibility": "public",
                    "title": "stability probe",
                },
            )
            if answer.status_code == 201:
                created.append(answer.json()["content_id"])
            time.sleep(0.01)


def measure_stability(server: AppServer, tokens: dict[str, str], plan: Plan) -> dict[str, Any]:
    """Walk sort=newest (keyset, then offset) while another client creates assets."""
    max_pages = 40 if plan.quick else 200
    out: dict[str, Any] = {}
    for mode in ("keyset", "offset"):
        with client(server.base_url, tokens["reader"]) as http:
            before = keyset_walk(http, "newest", max_pages)["seen"]  # the state at the start
            stop = threading.Event()
            created: list[str] = []
            thread = threading.Thread(
                target=_create_assets,
                args=(server, tokens["publisher"], stop, created),
                daemon=True,
            )
            thread.start()
            time.sleep(0.2)
            try:
                if mode == "keyset":
                    seen = keyset_walk(http, "newest", max_pages)["seen"]
                else:
                    seen = offset_walk(http, "newest", max_pages)
            finally:
                stop.set()
                thread.join(10)
        # Compare over the prefix of the pre-existing ordering the walk could have covered.
        new = set(created)
        old_seen = [c for c in seen if c not in new]
        covered = set(before[: len(set(old_seen))])
        duplicates = len(old_seen) - len(set(old_seen))
        missing = len(covered - set(old_seen))
        out[mode] = {
            "pages": math.ceil(len(seen) / PAGE),
            "inserted_during_walk": len(created),
            "new_items_seen": len(seen) - len(old_seen),
            "duplicates": duplicates,
            "missing": missing,
            "stable": duplicates == 0 and missing == 0,
        }
    log(f"  stability: {out}")
    return out


# --------------------------------------------------------------------------- publish


def small_package(size: int = 1024) -> bytes:
    """A tar.gz of about ``size`` bytes (incompressible payload)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = os.urandom(max(1, size - 200))
        member = tarfile.TarInfo("model.bin")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def create_asset(http: httpx.Client, name: str, visibility: str = "private") -> str:
    answer = http.post(
        "/assets", json={"kind": "algorithm", "name": name, "visibility": visibility}
    )
    if answer.status_code != 201:
        raise RuntimeError(f"create asset: {answer.status_code} {answer.text}")
    return str(answer.json()["content_id"])


def measure_publish(server: AppServer, publisher_token: str, plan: Plan) -> dict[str, Any]:
    package = small_package()
    out: dict[str, Any] = {"package_bytes": len(package)}
    with client(server.base_url, publisher_token) as http:
        spread = [create_asset(http, f"pub-spread-{uuid.uuid4().hex[:8]}") for _ in range(16)]
        hot = create_asset(http, f"pub-hot-{uuid.uuid4().hex[:8]}")
    for scenario, targets in (("spread_16_assets", spread), ("one_asset", [hot])):
        requests = [("PUBLISH", targets[i % len(targets)], None, 0) for i in range(plan.publishes)]
        cpu0 = server.cpu()
        watch = CpuWatch(server.pid)
        result = run_load(
            server.base_url,
            requests,
            tokens=[publisher_token],
            processes=plan.processes,
            threads=plan.threads,
            package=package,
            keep_bodies=True,
        )
        server_cpu = server.cpu() - cpu0
        ok = result.statuses.get(201, 0)
        stats = summary(result.latencies_ms)
        # Versions visible afterwards: no duplicates, no gaps (1.0.0 … 1.0.(n-1) per asset).
        problems = []
        with client(server.base_url, publisher_token) as http:
            for content_id in targets:
                versions = [v["version"] for v in http.get(f"/assets/{content_id}/versions").json()]
                expected = {f"1.0.{i}" for i in range(len(versions))}
                if set(versions) != expected or len(versions) != len(set(versions)):
                    problems.append(content_id)
                if scenario == "one_asset" and len(versions) != ok:
                    problems.append(f"{content_id}: {len(versions)} visible vs {ok} created")
        stats.update(
            clients=f"{plan.processes} processes x {plan.threads} threads",
            published=ok,
            statuses={str(k): v for k, v in result.statuses.items()},
            errors=result.errors[:5],
            seconds=round(result.wall_s, 2),
            versions_per_s=round(ok / result.wall_s, 1),
            server_cpu_ms_per_publish=round(server_cpu * 1000 / max(ok, 1), 2),
            client_cpu_ms_per_publish=round(result.client_cpu_s * 1000 / max(ok, 1), 2),
            cpu=watch.result(),
            versions_contiguous=not problems,
            problems=problems[:5],
        )
        out[scenario] = stats
        log(
            f"  publish {scenario}: {stats['versions_per_s']} versions/s, "
            f"p50 {stats['p50']} p99 {stats['p99']} ms, statuses {stats['statuses']}"
        )
    return out


# --------------------------------------------------------------------------- transfer


def big_package(path: Path, size: int) -> Path:
    """A tar.gz whose compressed size is about ``size`` (random payload, gzip level 1)."""
    payload = path.with_suffix(".bin")
    with payload.open("wb") as out:
        remaining = size - 1024
        while remaining > 0:
            chunk = os.urandom(min(MiB, remaining))
            out.write(chunk)
            remaining -= len(chunk)
    with tarfile.open(path, mode="w:gz", compresslevel=1) as tar:
        tar.add(payload, arcname="weights.bin")
    payload.unlink()
    return path


def gallery_publish_file(http: httpx.Client, content_id: str, path: Path) -> tuple[float, str]:
    with path.open("rb") as handle:
        files = {
            "manifest": (None, b"{}", "application/json"),
            "package": ("p.tar.gz", handle, "application/gzip"),
        }
        started = time.perf_counter()
        answer = http.post(f"/assets/{content_id}/versions", files=files)
        elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise RuntimeError(f"publish {path.name}: {answer.status_code} {answer.text[:300]}")
    return elapsed, str(answer.json()["version"])


def gallery_download(http: httpx.Client, content_id: str, version: str) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with http.stream("GET", f"/assets/{content_id}/versions/{version}/package") as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"download: {answer.status_code}")
        for chunk in answer.iter_raw(MiB):
            size += len(chunk)
    return time.perf_counter() - started, size


def measure_transfer(plan: Plan, tmp: Path) -> dict[str, Any]:
    """1 MB and 100 MB packages: Gallery publish/download vs the raw store client."""
    out: dict[str, Any] = {}
    files_dir = tmp / "packages"
    files_dir.mkdir()
    packages = {
        size: big_package(files_dir / f"pkg-{size}.tar.gz", size) for size in plan.transfer_sizes
    }
    with moto_endpoint() as (endpoint, _moto_pid):
        for store in ("s3", "local"):
            data_dir = tmp / f"transfer-{store}"
            with database("sqlite", data_dir) as url:
                asyncio.run(seeding.seed(url, 0))
                env = server_env(data_dir, url, endpoint if store == "s3" else None)
                with app_server(env, tmp) as server:
                    token = login(server.base_url, seeding.PUBLISHER, seeding.PASSWORD)
                    out[store] = _transfer_runs(server, token, packages, plan, store, endpoint, tmp)
    return out


def _transfer_runs(
    server: AppServer,
    token: str,
    packages: dict[int, Path],
    plan: Plan,
    store: str,
    endpoint: str,
    tmp: Path,
) -> dict[str, Any]:
    raw_dir = tmp / f"raw-{store}"
    raw_dir.mkdir(exist_ok=True)
    minio = Minio(
        endpoint, access_key=S3_KEYS["access"], secret_key=S3_KEYS["secret"], secure=False
    )
    bucket = "bench-raw"
    if store == "s3" and not minio.bucket_exists(bucket):
        minio.make_bucket(bucket)

    def raw_put(path: Path) -> tuple[float, str]:
        key = f"raw/{uuid.uuid4().hex}"
        started = time.perf_counter()
        if store == "s3":
            minio.fput_object(bucket, key, str(path))
        else:
            shutil.copyfile(path, raw_dir / key.replace("/", "-"))
        return time.perf_counter() - started, key

    def raw_get(key: str) -> tuple[float, int]:
        started = time.perf_counter()
        size = 0
        if store == "s3":
            response = minio.get_object(bucket, key)
            try:
                for chunk in response.stream(MiB):
                    size += len(chunk)
            finally:
                response.close()
                response.release_conn()
        else:
            with (raw_dir / key.replace("/", "-")).open("rb") as handle:
                while chunk := handle.read(MiB):
                    size += len(chunk)
        return time.perf_counter() - started, size

    results: dict[str, Any] = {}
    with client(server.base_url, token) as http:
        content_id = create_asset(http, f"transfer-{store}")
        # Warm up both paths (connections, imports, the bucket-location lookup).
        warm = packages[min(packages)]
        _, version = gallery_publish_file(http, content_id, warm)
        gallery_download(http, content_id, version)
        raw_get(raw_put(warm)[1])
        for size, path in packages.items():
            real = path.stat().st_size
            runs: dict[str, list[float]] = {
                "gallery_up": [],
                "raw_up": [],
                "gallery_down": [],
                "raw_down": [],
            }
            for _ in range(plan.transfer_reps[size]):
                seconds, version = gallery_publish_file(http, content_id, path)
                runs["gallery_up"].append(seconds)
                seconds, got = gallery_download(http, content_id, version)
                assert got == real, (got, real)
                runs["gallery_down"].append(seconds)
                seconds, key = raw_put(path)
                runs["raw_up"].append(seconds)
                seconds, got = raw_get(key)
                assert got == real
                runs["raw_down"].append(seconds)
            med = {k: statistics.median(v) for k, v in runs.items()}
            mbps = {k: round(real / MiB / v, 1) for k, v in med.items()}
            results[f"{size // MiB}MB"] = {
                "bytes": real,
                "reps": plan.transfer_reps[size],
                "median_ms": {k: round(v * 1000, 1) for k, v in med.items()},
                "MiB_per_s": mbps,
                "publish_ratio": round(med["raw_up"] / med["gallery_up"], 3),
                "download_ratio": round(med["raw_down"] / med["gallery_down"], 3),
                "runs_ms": {k: [round(x * 1000, 1) for x in v] for k, v in runs.items()},
            }
            log(f"  transfer {store} {size // MiB} MB: {results[f'{size // MiB}MB']['median_ms']}")
    return results


# --------------------------------------------------------------------------- one backend


def bench_backend(backend: str, plan: Plan, tmp: Path, results: dict[str, Any]) -> None:
    for size in plan.sizes:
        key = f"{backend}/{size}"
        log(f"{key}: seeding {size} assets x 5 versions")
        data_dir = tmp / f"{backend}-{size}"
        with database(backend, data_dir) as url:
            info = asyncio.run(seeding.seed(url, size))
            log(f"  seeded in {info.seconds} s: {asdict(info)}")
            entry: dict[str, Any] = {"seed": asdict(info)}
            results["runs"][key] = entry
            with app_server(server_env(data_dir, url), tmp) as server:
                entry["server_rss_mib_start"] = round(server.rss(), 1)
                tokens: dict[str, str | None] = {
                    "anonymous": None,
                    "reader": login(server.base_url, seeding.READER, seeding.PASSWORD),
                }
                latency, cursors = measure_latencies(server, tokens, info, plan)
                entry["latency"] = latency
                if size == plan.primary:
                    reader = tokens["reader"]
                    assert reader is not None
                    entry["concurrency"] = measure_concurrency(
                        server, reader, info, cursors, plan, latency
                    )
                    publisher = login(server.base_url, seeding.PUBLISHER, seeding.PASSWORD)
                    entry["stability"] = measure_stability(
                        server, {"reader": reader, "publisher": publisher}, plan
                    )
                    if not plan.skip_publish:
                        entry["publish"] = measure_publish(server, publisher, plan)
                entry["server_rss_mib_end"] = round(server.rss(), 1)


# --------------------------------------------------------------------------- report


def evaluate(results: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(target: str, measured: str, ok: bool | None) -> None:
        rows.append(
            {
                "target": target,
                "measured": measured,
                "result": "info" if ok is None else "PASS" if ok else "FAIL",
            }
        )

    scale = "10k" if plan.primary == 10_000 else f"{plan.primary // 1000}k (not the 10k bar)"
    for backend in plan.backends:
        runs = results["runs"]
        primary = runs.get(f"{backend}/{plan.primary}")
        if not primary:
            continue
        latency = primary["latency"]
        for kind in latency["anonymous"]:
            anon, reader = latency["anonymous"][kind]["p95"], latency["reader"][kind]["p95"]
            worst = max(anon, reader)
            row(
                f"{backend} {scale}: `{kind}` p95 < {LATENCY_TARGET_MS:g} ms",
                f"anon {anon} / auth {reader} ms",
                worst < LATENCY_TARGET_MS,
            )
        small, big = min(plan.sizes), max(plan.sizes)
        if small != big:
            growth = {}
            for kind in latency["anonymous"]:
                for who in ("anonymous", "reader"):
                    a = runs[f"{backend}/{small}"]["latency"][who][kind]["p95"]
                    b = runs[f"{backend}/{big}"]["latency"][who][kind]["p95"]
                    growth[f"{kind}/{who}"] = b / a
            worst_kind = max(growth, key=lambda k: growth[k])
            factor = big / small
            row(
                f"{backend}: p95 growth {small // 1000}k→{big // 1000}k sub-linear (< {factor:g}x)",
                f"worst {growth[worst_kind]:.2f}x ({worst_kind}); median "
                f"{statistics.median(growth.values()):.2f}x",
                growth[worst_kind] < factor,
            )
        conc = primary.get("concurrency")
        if conc:
            row(
                f"{backend} {scale}: 8 concurrent searchers ≥ {RPS_TARGET:g} req/s",
                f"{conc['rps']} req/s (p95 {conc['p95']} ms, server "
                f"{conc['server_cpu_ms_per_req']} ms CPU/req)",
                conc["rps"] >= RPS_TARGET and not conc["errors"],
            )
        walk = latency["reader"]["keyset_walk"]
        stab = primary.get("stability", {})
        if stab:
            ks, off = stab["keyset"], stab["offset"]
            row(
                f"{backend}: keyset pagination stable (walk + inserts during walk)",
                f"full walk {walk['unique']}/{walk['total']} unique; with "
                f"{ks['inserted_during_walk']} inserts: {ks['duplicates']} dup / "
                f"{ks['missing']} missing (offset: {off['duplicates']} dup / "
                f"{off['missing']} missing)",
                bool(walk["consistent"]) and ks["stable"],
            )
        pub = primary.get("publish")
        if pub:
            for scenario in ("spread_16_assets", "one_asset"):
                p = pub[scenario]
                ok = (
                    p["versions_per_s"] >= PUBLISH_RPS_TARGET
                    and p["p99"] < PUBLISH_P99_TARGET_MS
                    and p["versions_contiguous"]
                    and p["published"] == plan.publishes
                )
                row(
                    f"{backend}: publish ({scenario}, 8 clients, 1 KB) ≥ {PUBLISH_RPS_TARGET:g}/s, "
                    f"p99 < {PUBLISH_P99_TARGET_MS:g} ms",
                    f"{p['versions_per_s']}/s, p50 {p['p50']} p99 {p['p99']} ms, "
                    f"{p['published']}/{plan.publishes} ok, contiguous={p['versions_contiguous']}",
                    ok,
                )
    transfer = results.get("transfer", {})
    for store, per_size in transfer.items():
        for label, t in per_size.items():
            for direction, ratio_key, gkey, rkey in (
                ("publish", "publish_ratio", "gallery_up", "raw_up"),
                ("download", "download_ratio", "gallery_down", "raw_down"),
            ):
                raw_name = "raw minio" if store == "s3" else "plain file copy"
                row(
                    f"{store}: {label} {direction} ≥ {TRANSFER_RATIO_TARGET}x {raw_name}"
                    + ("" if store == "s3" else " (reported)"),
                    f"{t[ratio_key]}x ({t['MiB_per_s'][gkey]} vs {t['MiB_per_s'][rkey]} MiB/s; "
                    f"{t['median_ms'][gkey]:.0f} vs {t['median_ms'][rkey]:.0f} ms)",
                    t[ratio_key] >= TRANSFER_RATIO_TARGET if store == "s3" else None,
                )
    return rows


def _busy(entry: dict[str, Any], identity: str) -> str:
    cpu = entry.get("latency", {}).get("machine_cpu", {}).get(identity)
    return f"{cpu['machine_busy_pct']}% / {cpu['loadavg_1m']}" if cpu else "-"


def table_header(*columns: str) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def markdown(results: dict[str, Any], rows: list[dict[str, Any]], plan: Plan) -> str:
    lines = [
        f"# Registry benchmark — {results['meta']['started']}",
        "",
        f"Machine: {results['meta']['machine']}. Server: {results['meta']['server_stack']}. "
        f"Load: {results['meta']['client']}. Command: `{results['meta']['command']}`.",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    lines += [f"| {r['target']} | {r['measured']} | {r['result']} |" for r in rows]
    lines += ["", "## Catalog latency (sequential, one keep-alive client; ms)", ""]
    lines += [
        "| backend/size | kind | anon p50 | anon p95 | anon p99 | auth p50 | auth p95 | auth p99 "
        "| server CPU ms/req (anon/auth) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, entry in results["runs"].items():
        latency = entry.get("latency")
        if not latency:
            continue
        for kind, anon in latency["anonymous"].items():
            auth = latency["reader"][kind]
            cpu = (
                f"{anon.get('server_cpu_ms_per_req', '-')}/{auth.get('server_cpu_ms_per_req', '-')}"
            )
            lines.append(
                f"| {key} | {kind} | {anon['p50']} | {anon['p95']} | {anon['p99']} | "
                f"{auth['p50']} | {auth['p95']} | {auth['p99']} | {cpu} |"
            )
    lines += ["", "## Seeding and server", ""]
    lines += table_header(
        "backend/size",
        "assets",
        "versions",
        "users",
        "whitelist rows",
        "subscriptions",
        "seed s",
        "visible anon/auth",
        "server RSS MiB start/end",
        "machine busy % / loadavg in latency runs (anon; auth)",
    )
    for key, entry in results["runs"].items():
        s = entry["seed"]
        lines.append(
            f"| {key} | {s['assets']} | {s['versions']} | {s['users']} | {s['whitelist_rows']} | "
            f"{s['subscriptions']} | {s['seconds']} | "
            f"{s['visible_anonymous']}/{s['visible_reader']} | "
            f"{entry.get('server_rss_mib_start')}/{entry.get('server_rss_mib_end')} | "
            f"{_busy(entry, 'anonymous')}; {_busy(entry, 'reader')} |"
        )
    conc_lines, pub_lines = [], []
    for key, entry in results["runs"].items():
        c = entry.get("concurrency")
        if c:
            conc_lines.append(
                f"| {key} | {c['clients']} | {c['requests']} in {c['seconds']} s | {c['rps']} | "
                f"{c['p50']} / {c['p95']} / {c['p99']} | {c['server_cpu_ms_per_req']} | "
                f"{c['client_cpu_ms_per_req']} | {c['statuses']} | "
                f"{c['cpu']['machine_busy_pct']} |"
            )
        for scenario, p in (entry.get("publish") or {}).items():
            if not isinstance(p, dict):
                continue
            pub_lines.append(
                f"| {key} | {scenario} | {p['clients']} | {p['published']} in {p['seconds']} s | "
                f"{p['versions_per_s']} | {p['p50']} / {p['p95']} / {p['p99']} | "
                f"{p['server_cpu_ms_per_publish']} | {p['statuses']} | "
                f"{p['versions_contiguous']} | {p['cpu']['machine_busy_pct']} |"
            )
    if conc_lines:
        lines += ["", "## Concurrent search (mix of all kinds, half anonymous)", ""]
        lines += table_header(
            "backend/size",
            "clients",
            "requests",
            "req/s",
            "p50 / p95 / p99 ms",
            "server CPU ms/req",
            "client CPU ms/req",
            "statuses",
            "machine busy %",
        )
        lines += conc_lines
    if pub_lines:
        lines += ["", "## Publish throughput (1 KB packages, local blob store)", ""]
        lines += table_header(
            "backend/size",
            "scenario",
            "clients",
            "published",
            "versions/s",
            "p50 / p95 / p99 ms",
            "server CPU ms/publish",
            "statuses",
            "contiguous",
            "machine busy %",
        )
        lines += pub_lines
    if results.get("transfer"):
        lines += ["", "## Package transfer (median; ratio = raw time / Gallery time)", ""]
        lines += table_header(
            "store",
            "size",
            "reps",
            "Gallery publish ms",
            "raw put ms",
            "ratio",
            "Gallery download ms",
            "raw get ms",
            "ratio",
        )
        for store, per_size in results["transfer"].items():
            for label, t in per_size.items():
                m = t["median_ms"]
                lines.append(
                    f"| {store} | {label} | {t['reps']} | {m['gallery_up']} | {m['raw_up']} | "
                    f"{t['publish_ratio']} | {m['gallery_down']} | {m['raw_down']} | "
                    f"{t['download_ratio']} |"
                )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.registry", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes", default=None, help="asset counts, e.g. 1000,10000 (100000 optional)"
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="1k assets, fewer requests (~2 min)")
    parser.add_argument(
        "--client-procs",
        type=int,
        default=2,
        choices=(1, 2, 4, 8),
        help="load-generator processes for the 8 concurrent clients (default 2x4)",
    )
    parser.add_argument("--skip-transfer", action="store_true")
    parser.add_argument("--skip-publish", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "1000" if args.quick else "1000,10000"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = Plan(args)
    if "postgres" in plan.backends:
        reason = postgres_unavailable()
        if reason:
            log(f"skipping PostgreSQL: {reason}")
            plan.backends.remove("postgres")
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "command": " ".join(
                ["python -m tests.bench.registry", *(argv if argv is not None else sys.argv[1:])]
            ),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
            f"Python {platform.python_version()}, {_mem_gib()} GiB RAM",
            "quick": plan.quick,
            "sizes": plan.sizes,
            "backends": plan.backends,
            "client": f"{plan.processes} processes x {plan.threads} threads (httpx, keep-alive)",
            "git": git_head(),
            "server_stack": _server_stack(),
        },
        "runs": {},
    }
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gallery-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for backend in plan.backends:
            try:
                bench_backend(backend, plan, tmp, results)
            except Exception as exc:  # keep what was measured; report the failure
                log(f"{backend} failed: {exc!r}")
                results.setdefault("errors", []).append(f"{backend}: {exc!r}")
        if not plan.skip_transfer:
            log("transfer: 1 MB and 100 MB packages, S3 (moto) and local store")
            try:
                results["transfer"] = measure_transfer(plan, tmp)
            except Exception as exc:
                log(f"transfer failed: {exc!r}")
                results.setdefault("errors", []).append(f"transfer: {exc!r}")
    results["meta"]["seconds"] = round(time.perf_counter() - t0, 1)
    rows = evaluate(results, plan)
    results["targets"] = rows
    report = markdown(results, rows, plan)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if plan.quick else "")
    (out / f"registry-{stamp}.md").write_text(report)
    (out / f"registry-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"wrote {out}/registry-{stamp}.md and .json in {results['meta']['seconds']} s total")
    failed = results.get("errors") or any(r["result"] == "FAIL" for r in rows)
    return 1 if failed else 0


def _mem_gib() -> float:
    with contextlib.suppress(OSError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return round(pages / 1024**3, 1)
    return math.nan


def _server_stack() -> str:
    """What uvicorn runs on here: uvloop/httptools are optional (uvicorn[standard])."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn 1 worker, loop={loop}, http={http}"


if __name__ == "__main__":
    sys.exit(main())
