"""Runner benchmark (`make bench-runner`): Gallery executions against a bare-Temporal floor.

    python -m tests.bench.runner [--quick] [--reps N] [--concurrent N] [--latency-reps N]

One embedded Temporal dev server (free port, fresh temp data dir, the tuned dynamic config of
``runner.embedded``) serves both sides, each with its own worker process and task queue:

* Gallery: the real app (SQLite) under uvicorn in a child process and ``gallery worker`` in
  another; pipelines defined with the SDK, published and imported for real, run over HTTP.
  The no-op step is a JobStep whose algorithm is a published algorithm asset with
  ``command="true"`` (the worker runs ``true`` in the step sandbox, in a fresh working
  directory).
* Floor: hand-written workflows with the same no-op activities (``runner_floor.py``): a bare
  ``return`` (the floor DESIGN.md §7 defines) and one that spawns ``/bin/true``.

Measures (a) per-step wall time of a 20-step chain and a 1→10→1 fan-out, (b) N concurrent
20-step runs (N different workflows), (c) continue-to-running latency against the floor's
signal (and update) latency. Prints a Markdown table (target, measured, PASS/FAIL) and writes
it plus the raw JSON to ``bench-results/``; exit status 1 while a target is missed. See
tests/bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import sdk as wf
from registry.executions.runner_client import temporal_id
from registry.settings import Settings
from tests.bench.harness import (
    ROOT,
    app_server,
    cpu_seconds,
    git_head,
    log,
    machine_busy_seconds,
    rss_mib,
    summary,
)
from tests.bench.runner_floor import Args as FloorArgs
from tests.sdk.support import token_of
from tests.support.databases import sqlite_url
from tests.support.gallery import Gallery, _prepare, fast_settings
from tests.support.runner import TemporalServer, settings_env, temporal_server

PER_STEP_RATIO = 1.5
THROUGHPUT_RATIO = 0.7
LATENCY_RATIO = 2.0
PREFECT_SPEEDUP = 2.0
CHAIN_STEPS = 20
FAN_WIDTH = 10
SETTLE_SECONDS = 0.3  # idle time before a continue/signal, so the run is parked and quiet


# --------------------------------------------------------------------------- configuration


class Plan:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quick: bool = args.quick
        self.reps: int = args.reps or (2 if self.quick else 7)
        self.concurrent: int = args.concurrent or (10 if self.quick else 50)
        self.latency_reps: int = args.latency_reps or (3 if self.quick else 10)
        self.run_timeout = 120.0
        self.concurrent_timeout = 120.0 if self.quick else 600.0
        self.trace: bool = args.trace_worker
        self.sample_worker: str | None = args.sample_worker
        self.profile_worker: str | None = args.profile_worker
        self.skip_concurrent: bool = args.skip_concurrent


# --------------------------------------------------------------------------- processes


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (job subprocesses)."""
    try:
        return cpu_seconds(pid, children=True)
    except OSError:
        return math.nan


class Cpu:
    """CPU seconds per named process between two points, and how busy the whole machine was:
    ``machine_busy_pct`` (all cores = 100) and ``foreign_busy_pct``, the part used by processes
    that are not ours (other people's test runs on the same cores inflate latencies)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "bench_client": os.getpid()}
        self.before = {name: proc_cpu(pid) for name, pid in self.pids.items()}
        self.busy0, self.total0 = machine_busy_seconds()

    def delta(self) -> dict[str, float]:
        out = {name: proc_cpu(pid) - self.before[name] for name, pid in self.pids.items()}
        ours = sum(v for v in out.values() if not math.isnan(v))
        busy, total = machine_busy_seconds()
        span = max(total - self.total0, 1e-9)
        out["machine_busy_pct"] = 100 * (busy - self.busy0) / span
        out["foreign_busy_pct"] = max(0.0, 100 * (busy - self.busy0 - ours) / span)
        return out


@dataclass
class ChildProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_child(
    name: str, argv: list[str], env: dict[str, str], log_path: Path, ready: bytes
) -> ChildProcess:
    with log_path.open("ab") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    child = ChildProcess(name, process, log_path)
    deadline = time.monotonic() + 60
    while ready not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"{name} did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.05)
    return child


@contextlib.contextmanager
def gallery_worker(settings: Settings, plan: Plan, out: Path) -> Iterator[ChildProcess]:
    """``gallery worker`` in a child process (through ``runner_worker`` only to instrument it)."""
    env = settings_env(settings)
    env["PYTHONPATH"] = str(ROOT)
    if plan.trace:
        env["BENCH_TRACE"] = str(out / "worker-trace.jsonl")
    if plan.sample_worker:
        env["BENCH_SAMPLE"] = plan.sample_worker
    if plan.profile_worker:
        env["BENCH_PROFILE"] = plan.profile_worker
    instrumented = plan.trace or plan.sample_worker or plan.profile_worker
    argv = [sys.executable, "-m", "tests.bench.runner_worker" if instrumented else "sdk.cli"]
    if not instrumented:
        argv.append("worker")
    child = start_child("gallery worker", argv, env, settings.data_dir / "worker.log", b"polling")
    try:
        yield child
    finally:
        child.stop()


@contextlib.contextmanager
def floor_worker(
    address: str, queue: str, slots: int, logs: Path, trace: Path | None
) -> Iterator[ChildProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if trace is not None:
        env["BENCH_TRACE"] = str(trace)
    argv = [sys.executable, "-m", "tests.bench.runner_floor", address, queue, str(slots)]
    child = start_child("floor worker", argv, env, logs / "floor-worker.log", b"polling")
    try:
        yield child
    finally:
        child.stop()


# --------------------------------------------------------------------------- pipelines


def noop_code(tmp: Path) -> Path:
    folder = tmp / "noop-code"
    folder.mkdir(exist_ok=True)
    (folder / "README").write_text("A no-op algorithm for the runner benchmark: `true`.\n")
    return folder


def chain_workflow(code: Path, steps: int) -> wf.Workflow:
    algorithm = wf.BaseAlgorithm(name="noop", code_dir=code, command="true")
    made: list[wf.steps.Step] = []
    for i in range(steps):
        made.append(
            wf.steps.JobStep(name=f"s{i + 1:02d}", algorithm=algorithm, depend_steps=made[-1:])
        )
    return wf.Workflow(name="bench-chain", desc="runner benchmark: a chain", steps=list(made))


def fan_workflow(code: Path, width: int) -> wf.Workflow:
    algorithm = wf.BaseAlgorithm(name="noop", code_dir=code, command="true")
    first = wf.steps.JobStep(name="first", algorithm=algorithm)
    middle: list[wf.steps.Step] = [
        wf.steps.JobStep(name=f"m{i + 1:02d}", algorithm=algorithm, depend_steps=[first])
        for i in range(width)
    ]
    last = wf.steps.JobStep(name="last", algorithm=algorithm, depend_steps=middle)
    return wf.Workflow(
        name="bench-fan", desc="runner benchmark: 1-10-1", steps=[first, *middle, last]
    )


def wait_workflow(code: Path, stamps: Path) -> wf.Workflow:
    """One step that waits for a delayed placeholder; its process logs when it started."""
    go = wf.Placeholder(name="go", placeholder_type=wf.PlaceholderType.INT, delay=True)
    algorithm = wf.BaseAlgorithm(
        name="stamp",
        code_dir=code,
        # The step is sandboxed: it reports the time in its log, not in a file of ours.
        command="echo stamp=$(date +%s.%N)",
        parameters=[wf.AlgorithmParameters(name="go", value=go)],
    )
    step = wf.steps.JobStep(name="wait", algorithm=algorithm)
    return wf.Workflow(name="bench-wait", desc="runner benchmark: continue", steps=[step])


def release(client: httpx.Client, workflow: wf.Workflow) -> tuple[str, str]:
    base = str(client.base_url).rstrip("/").removesuffix("/api/v1")
    workflow.session = wf.Session(base, token_of(client))
    done = workflow.release_to_gallery()
    return done.content_id, done.version


def import_workflow(client: httpx.Client, content_id: str, version: str, name: str) -> str:
    answer = client.post(
        "/workspaces/default/workflows",
        json={"content_id": content_id, "version": version, "name": name},
    )
    if answer.status_code != 201:
        raise RuntimeError(f"import {name}: {answer.status_code} {answer.text}")
    return str(answer.json()["id"])


# --------------------------------------------------------------------------- one run each


def _epoch(value: str | None) -> float | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _gaps(values: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(values)]


@dataclass
class Side:
    """Everything a run needs: HTTP (Gallery) and Temporal clients, queues, process ids."""

    http: httpx.AsyncClient
    gallery_temporal: Client
    floor_temporal: Client
    floor_queue: str
    pids: dict[str, int]


async def gallery_run(side: Side, workflow_id: str, limit: float) -> dict[str, Any]:
    """POST a run, wait for its Temporal workflow to close, then read the record."""
    t0, wall0 = time.perf_counter(), time.time()
    answer = await side.http.post(f"/workflows/{workflow_id}/executions", json={})
    t_post = time.perf_counter()
    if answer.status_code != 201:
        return {"ok": False, "error": f"start: {answer.status_code} {answer.text[:300]}"}
    execution_id = answer.json()["id"]
    handle = side.gallery_temporal.get_workflow_handle(temporal_id(execution_id))
    try:
        await asyncio.wait_for(handle.result(), limit)
    except Exception as exc:
        return {"ok": False, "error": f"{execution_id}: {exc!r}", "execution": execution_id}
    t1, wall1 = time.perf_counter(), time.time()
    record = (await side.http.get(f"/executions/{execution_id}")).json()
    steps = record["steps"]
    ok = record["status"] == "succeeded" and all(s["status"] == "succeeded" for s in steps)
    starts = sorted(x for x in (_epoch(s["started_at"]) for s in steps) if x is not None)
    bodies = [
        (_epoch(s["finished_at"]) or math.nan) - (_epoch(s["started_at"]) or math.nan)
        for s in steps
    ]
    return {
        "ok": ok,
        "status": record["status"],
        "execution": execution_id,
        "seconds": t1 - t0,
        "post_ms": (t_post - t0) * 1000,
        "first_start_ms": (starts[0] - wall0) * 1000 if starts else math.nan,
        "start_gaps_ms": [g * 1000 for g in _gaps(starts)],
        "step_body_ms": [b * 1000 for b in bodies],
        "done_at": t1,
        "window": (wall0, wall1),
    }


async def floor_run(
    side: Side, workflow: str, n: int, activity: str, limit: float
) -> dict[str, Any]:
    t0, wall0 = time.perf_counter(), time.time()
    try:
        handle = await side.floor_temporal.start_workflow(
            workflow,
            FloorArgs(n=n, activity=activity),
            id=f"floor-{uuid.uuid4().hex}",
            task_queue=side.floor_queue,
        )
        t_start = time.perf_counter()
        stamps = await asyncio.wait_for(handle.result(), limit)
    except Exception as exc:
        return {"ok": False, "error": repr(exc)}
    t1, wall1 = time.perf_counter(), time.time()
    starts = sorted(stamps)
    return {
        "ok": True,
        "seconds": t1 - t0,
        "post_ms": (t_start - t0) * 1000,
        "first_start_ms": (starts[0] - wall0) * 1000,
        "start_gaps_ms": [g * 1000 for g in _gaps(starts)],
        "done_at": t1,
        "window": (wall0, wall1),
    }


async def with_cpu(side: Side, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    cpu = Cpu(side.pids)
    result = await run
    result["cpu_s"] = cpu.delta()
    return result


# --------------------------------------------------------------------------- (a) per step

GALLERY_KEYS = ("gallery",)
FLOOR_VARIANTS = {
    "floor_bare": "noop",
    "floor_spawn": "spawn_true",
    "floor_sandbox": "spawn_sandboxed",
}


async def measure_per_step(side: Side, plan: Plan, chain_id: str, fan_id: str) -> dict[str, Any]:
    shapes = {
        "chain": (chain_id, "FloorChain", CHAIN_STEPS, CHAIN_STEPS),
        "fan": (fan_id, "FloorFan", FAN_WIDTH, FAN_WIDTH + 2),
    }
    out: dict[str, Any] = {}
    for shape, (workflow_id, floor_name, n, steps) in shapes.items():
        runs: dict[str, list[dict[str, Any]]] = {"gallery": [], **{k: [] for k in FLOOR_VARIANTS}}
        log(f"(a) {shape}: 1 warm-up + {plan.reps} interleaved repetitions per side")
        for rep in range(plan.reps + 1):
            results = {
                "gallery": await with_cpu(side, gallery_run(side, workflow_id, plan.run_timeout))
            }
            for variant, activity in FLOOR_VARIANTS.items():
                results[variant] = await with_cpu(
                    side, floor_run(side, floor_name, n, activity, plan.run_timeout)
                )
            for key, result in results.items():
                if not result["ok"]:
                    raise RuntimeError(f"{shape} {key} run failed: {result}")
                if rep > 0:  # the first round is the warm-up (code unpacked, caches filled)
                    runs[key].append(result)
        out[shape] = {"steps": steps, "sides": {k: _per_step(v, steps) for k, v in runs.items()}}
    return out


def _per_step(runs: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    per_step = [r["seconds"] * 1000 / steps for r in runs]
    cpu_keys = [k for k in runs[0]["cpu_s"] if not k.endswith("_pct")]
    entry: dict[str, Any] = {
        "reps": len(runs),
        "windows": [r["window"] for r in runs],
        "per_step_ms": round(statistics.median(per_step), 2),
        "per_step_ms_all": [round(x, 2) for x in per_step],
        "total_ms": round(statistics.median(r["seconds"] * 1000 for r in runs), 1),
        "first_start_ms": round(statistics.median(r["first_start_ms"] for r in runs), 2),
        "start_gap_ms": round(statistics.median(g for r in runs for g in r["start_gaps_ms"]), 2),
        "cpu_ms_per_step": {
            k: round(statistics.median(r["cpu_s"][k] for r in runs) * 1000 / steps, 2)
            for k in cpu_keys
        },
        "machine_busy_pct": round(
            statistics.median(r["cpu_s"]["machine_busy_pct"] for r in runs), 1
        ),
        "foreign_busy_pct": round(
            statistics.median(r["cpu_s"]["foreign_busy_pct"] for r in runs), 1
        ),
    }
    entry["post_ms"] = round(statistics.median(r["post_ms"] for r in runs), 2)
    if "step_body_ms" in runs[0]:
        entry["step_body_ms"] = round(
            statistics.median(b for r in runs for b in r["step_body_ms"]), 2
        )
    return entry


# --------------------------------------------------------------------------- (b) concurrent


async def measure_concurrent(side: Side, plan: Plan, workflow_ids: list[str]) -> dict[str, Any]:
    n = len(workflow_ids)
    out: dict[str, Any] = {"runs": n}

    async def timed(starter: Callable[[], Awaitable[list[dict[str, Any]]]]) -> dict[str, Any]:
        cpu = Cpu(side.pids)
        t0, wall0 = time.perf_counter(), time.time()
        results = await starter()
        busy = cpu.delta()
        window = (wall0, time.time())
        done = [r for r in results if r.get("ok")]
        last = max((r["done_at"] for r in done), default=t0)
        seconds = last - t0
        errors = [r.get("error") for r in results if not r.get("ok")]
        return {
            "succeeded": len(done),
            "seconds": round(seconds, 2),
            "runs_per_s": round(len(done) / seconds, 3) if seconds > 0 else 0.0,
            "run_seconds": summary([r["seconds"] * 1000 for r in done]) if done else {},
            "cpu_s": {k: round(v, 2) for k, v in busy.items()},
            "errors": errors[:5],
            "error_count": len(errors),
            "start_request_ms": summary([r["post_ms"] for r in done if "post_ms" in r]),
            "windows": [window],
        }

    async def gallery_all() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                *(gallery_run(side, w, plan.concurrent_timeout) for w in workflow_ids)
            )
        )

    def floor_all(activity: str) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
        async def run() -> list[dict[str, Any]]:
            return list(
                await asyncio.gather(
                    *(
                        floor_run(
                            side, "FloorChain", CHAIN_STEPS, activity, plan.concurrent_timeout
                        )
                        for _ in range(n)
                    )
                )
            )

        return run

    log(f"(b) {n} concurrent {CHAIN_STEPS}-step runs: floor (bare)")
    out["floor_bare"] = await timed(floor_all("noop"))
    log(f"(b) {n} concurrent runs: Gallery")
    out["gallery"] = await timed(gallery_all)
    log(f"(b) {n} concurrent runs: floor (spawn /bin/true)")
    out["floor_spawn"] = await timed(floor_all("spawn_true"))
    return out


# --------------------------------------------------------------------------- (c) latency


async def _wait_until_waiting(side: Side, execution_id: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        record = (await side.http.get(f"/executions/{execution_id}")).json()
        status = next(s["status"] for s in record["steps"] if s["name"] == "wait")
        if status == "waiting_input":
            return
        if time.monotonic() > deadline or record["status"] in ("failed", "stopped"):
            raise RuntimeError(f"the wait step never waited: {record['status']} / {status}")
        await asyncio.sleep(0.02)


async def gallery_continue(
    side: Side, workflow_id: str, stamps: Path, limit: float
) -> dict[str, Any]:
    answer = await side.http.post(f"/workflows/{workflow_id}/executions", json={})
    answer.raise_for_status()
    execution_id = answer.json()["id"]
    await _wait_until_waiting(side, execution_id, limit)
    await asyncio.sleep(SETTLE_SECONDS)
    sent = time.time()
    answer = await side.http.post(
        f"/executions/{execution_id}/steps/wait/continue", json={"inputs": {"go": 1}}
    )
    replied = time.time()
    if not answer.is_success:
        raise RuntimeError(f"continue: {answer.status_code} {answer.text}")
    await asyncio.wait_for(
        side.gallery_temporal.get_workflow_handle(temporal_id(execution_id)).result(), limit
    )
    record = (await side.http.get(f"/executions/{execution_id}")).json()
    step = next(s for s in record["steps"] if s["name"] == "wait")
    if record["status"] != "succeeded":
        raise RuntimeError(f"continued run ended {record['status']}: {record.get('error')}")
    activity = _epoch(step["started_at"])
    assert activity is not None
    log_text = (await side.http.get(f"/executions/{execution_id}/steps/wait/logs")).text
    stamp = next(x for x in log_text.splitlines() if x.startswith("stamp="))
    process = float(stamp[6:].split()[0])  # the job echoes its arguments after it
    return {
        "activity_ms": (activity - sent) * 1000,
        "process_ms": (process - sent) * 1000,
        "request_ms": (replied - sent) * 1000,
    }


async def floor_wait(side: Side, how: str, limit: float) -> dict[str, Any]:
    handle = await side.floor_temporal.start_workflow(
        "FloorWait",
        FloorArgs(activity="noop"),
        id=f"floor-wait-{uuid.uuid4().hex}",
        task_queue=side.floor_queue,
    )
    await asyncio.sleep(SETTLE_SECONDS)
    sent = time.time()
    if how == "signal":
        await handle.signal("go")
    else:
        await handle.execute_update("go")
    replied = time.time()
    started: float = await asyncio.wait_for(handle.result(), limit)
    return {"activity_ms": (started - sent) * 1000, "request_ms": (replied - sent) * 1000}


async def measure_latency(side: Side, plan: Plan, workflow_id: str, stamps: Path) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"gallery": [], "floor_signal": [], "floor_update": []}
    log(f"(c) continue / signal / update latency: 1 warm-up + {plan.latency_reps} each")
    for rep in range(plan.latency_reps + 1):
        results = {
            "gallery": await gallery_continue(side, workflow_id, stamps, plan.run_timeout),
            "floor_signal": await floor_wait(side, "signal", plan.run_timeout),
            "floor_update": await floor_wait(side, "update", plan.run_timeout),
        }
        if rep > 0:
            for key, result in results.items():
                runs[key].append(result)
    out: dict[str, Any] = {}
    for key, items in runs.items():
        out[key] = {
            metric: round(statistics.median(r[metric] for r in items), 2) for metric in items[0]
        }
        out[key]["all_activity_ms"] = [round(r["activity_ms"], 2) for r in items]
    return out


# --------------------------------------------------------------------------- Prefect (optional)


def measure_prefect(plan: Plan) -> dict[str, Any]:
    if importlib.util.find_spec("prefect") is None:
        return {"skipped": "prefect is not installed (not installed on purpose; see DESIGN.md §7)"}
    try:  # pragma: no cover - prefect is not in the lock file
        from prefect import flow, task  # type: ignore[import-not-found]

        @task  # type: ignore[untyped-decorator]
        def noop() -> None:
            return None

        @flow  # type: ignore[untyped-decorator]
        def chain() -> None:
            for _ in range(CHAIN_STEPS):
                noop()

        chain()  # warm-up (starts the temporary local server)
        per_step = []
        for _ in range(plan.reps):
            t0 = time.perf_counter()
            chain()
            per_step.append((time.perf_counter() - t0) * 1000 / CHAIN_STEPS)
        return {"per_step_ms": round(statistics.median(per_step), 2), "reps": plan.reps}
    except Exception as exc:  # pragma: no cover
        return {"skipped": f"prefect run failed: {exc!r}"}


# --------------------------------------------------------------------------- trace summary


def trace_summary(path: Path, windows: list[tuple[float, float]], steps: int) -> dict[str, Any]:
    """Per-phase times from ``--trace-worker`` for the calls that ended inside ``windows``
    (the measured runs of one shape and side): median and p95 per call, calls and ms per step."""
    if not path.exists() or not windows:
        return {}
    phases: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        item = json.loads(line)
        if any(a <= item["t"] <= b for a, b in windows):
            phases.setdefault(item["phase"], []).append(item["ms"])
    total_steps = steps * len(windows)
    return {
        phase: {
            "calls_per_step": round(len(values) / total_steps, 2),
            "median_ms": round(statistics.median(values), 3),
            "p95_ms": summary(values)["p95"],
            "ms_per_step": round(sum(values) / total_steps, 2),
        }
        for phase, values in sorted(phases.items())
    }


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

    for shape, label in (
        ("chain", f"{CHAIN_STEPS}-step chain"),
        ("fan", f"1→{FAN_WIDTH}→1 fan-out"),
    ):
        entry = results.get("per_step", {}).get(shape)
        if not entry:
            continue
        sides = entry["sides"]
        g, bare, spawn = (sides[k]["per_step_ms"] for k in ("gallery", "floor_bare", "floor_spawn"))
        ratio = g / bare
        row(
            f"{label}: Gallery per step ≤ {PER_STEP_RATIO}x bare-activity floor",
            f"{g:.1f} ms vs {bare:.1f} ms = {ratio:.2f}x (vs spawn-/bin/true floor "
            f"{spawn:.1f} ms: {g / spawn:.2f}x)",
            ratio <= PER_STEP_RATIO,
        )
        entry["ratio_bare"] = round(ratio, 3)
        entry["ratio_spawn"] = round(g / spawn, 3)
        if "floor_sandbox" in sides:
            boxed = sides["floor_sandbox"]["per_step_ms"]
            row(
                f"{label}: the sandbox's cost per step (Gallery's steps include it)",
                f"{boxed - spawn:.1f} ms (floor spawning /bin/true in the sandbox {boxed:.1f} ms "
                f"vs plain {spawn:.1f} ms; bare floor {bare:.1f} ms)",
                None,
            )
            entry["sandbox_cost_ms"] = round(boxed - spawn, 2)
    conc = results.get("concurrent")
    if conc:
        g, bare, spawn = conc["gallery"], conc["floor_bare"], conc["floor_spawn"]
        ratio = g["runs_per_s"] / bare["runs_per_s"] if bare["runs_per_s"] else 0.0
        n = conc["runs"]
        row(
            f"{n} concurrent {CHAIN_STEPS}-step runs: {n}/{n} succeed",
            f"Gallery {g['succeeded']}/{n}, floor {bare['succeeded']}/{n} (spawn floor "
            f"{spawn['succeeded']}/{n})",
            g["succeeded"] == n,
        )
        row(
            f"{n} concurrent runs: throughput ≥ {THROUGHPUT_RATIO}x floor",
            f"{g['runs_per_s']:.2f} vs {bare['runs_per_s']:.2f} runs/s = {ratio:.2f}x "
            f"(vs spawn floor {spawn['runs_per_s']:.2f} runs/s: "
            f"{g['runs_per_s'] / spawn['runs_per_s'] if spawn['runs_per_s'] else 0:.2f}x)",
            ratio >= THROUGHPUT_RATIO,
        )
        conc["ratio_bare"] = round(ratio, 3)
    lat = results.get("latency")
    if lat:
        g, sig, upd = lat["gallery"], lat["floor_signal"], lat["floor_update"]
        ratio = g["activity_ms"] / sig["activity_ms"]
        row(
            f"continue → step running ≤ {LATENCY_RATIO}x floor signal → activity started",
            f"{g['activity_ms']:.1f} ms vs {sig['activity_ms']:.1f} ms = {ratio:.2f}x "
            f"(floor update {upd['activity_ms']:.1f} ms: "
            f"{g['activity_ms'] / upd['activity_ms']:.2f}x; "
            f"Gallery's process started at {g['process_ms']:.1f} ms)",
            ratio <= LATENCY_RATIO,
        )
        lat["ratio_signal"] = round(ratio, 3)
    prefect = results.get("prefect", {})
    if "skipped" in prefect:
        row(
            f"Gallery ≥ {PREFECT_SPEEDUP}x faster than Prefect 3 default flow",
            f"skipped: {prefect['skipped']}",
            None,
        )
    elif prefect and results.get("per_step", {}).get("chain"):
        g = results["per_step"]["chain"]["sides"]["gallery"]["per_step_ms"]
        speedup = prefect["per_step_ms"] / g
        row(
            f"Gallery ≥ {PREFECT_SPEEDUP}x faster than Prefect 3 default flow",
            f"Prefect {prefect['per_step_ms']:.1f} ms/step vs Gallery {g:.1f} = {speedup:.2f}x",
            speedup >= PREFECT_SPEEDUP,
        )
    return rows


def markdown(results: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    meta = results["meta"]
    lines = [
        f"# Runner benchmark — {meta['started']}",
        "",
        f"Machine: {meta['machine']}. Git {meta['git']}. Command: `{meta['command']}`. "
        f"No-op step: {meta['noop']}.",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    lines += [f"| {r['target']} | {r['measured']} | {r['result']} |" for r in rows]
    per_step = results.get("per_step", {})
    if per_step:
        lines += [
            "",
            "## (a) Per step (medians over repetitions)",
            "",
            "| shape | side | per step ms | total ms | start request ms | first step started ms "
            "| start→start ms | step body ms | CPU ms/step (gallery worker / app / temporal "
            "/ floor worker) | machine busy % (foreign) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for shape, entry in per_step.items():
            for side, s in entry["sides"].items():
                cpu = s["cpu_ms_per_step"]
                lines.append(
                    f"| {shape} ({entry['steps']} steps) | {side} | {s['per_step_ms']} | "
                    f"{s['total_ms']} | {s.get('post_ms', '-')} | {s['first_start_ms']} | "
                    f"{s['start_gap_ms']} | {s.get('step_body_ms', '-')} | "
                    f"{cpu.get('gallery_worker')} / {cpu.get('app')} / {cpu.get('temporal')} / "
                    f"{cpu.get('floor_worker')} | {s['machine_busy_pct']} "
                    f"({s['foreign_busy_pct']}) |"
                )
    conc = results.get("concurrent")
    if conc:
        lines += [
            "",
            f"## (b) {conc['runs']} concurrent {CHAIN_STEPS}-step runs",
            "",
            "| side | succeeded | wall s | runs/s | run p50 / p95 / max ms | start request "
            "p50 / max ms | CPU s (gallery "
            "worker / app / temporal / floor worker) | machine busy % (foreign) | errors |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for side in ("gallery", "floor_bare", "floor_spawn"):
            c = conc[side]
            rs = c["run_seconds"] or {}
            cpu = c["cpu_s"]
            lines.append(
                f"| {side} | {c['succeeded']}/{conc['runs']} | {c['seconds']} | "
                f"{c['runs_per_s']} | "
                f"{rs.get('p50')} / {rs.get('p95')} / {rs.get('max')} | "
                f"{c['start_request_ms'].get('p50')} / {c['start_request_ms'].get('max')} | "
                f"{cpu.get('gallery_worker')} / {cpu.get('app')} / {cpu.get('temporal')} / "
                f"{cpu.get('floor_worker')} | {cpu.get('machine_busy_pct')} "
                f"({cpu.get('foreign_busy_pct')}) | "
                f"{c['error_count']} {'; '.join(str(e) for e in c['errors'][:2])} |"
            )
    lat = results.get("latency")
    if lat:
        lines += [
            "",
            "## (c) Continue / signal → running (medians, ms from sending the request)",
            "",
            "| side | activity started | process started | request answered | all (activity) |",
            "|---|---|---|---|---|",
        ]
        for side, entry in lat.items():
            if not isinstance(entry, dict):
                continue
            lines.append(
                f"| {side} | {entry['activity_ms']} | {entry.get('process_ms', '-')} | "
                f"{entry['request_ms']} | {entry['all_activity_ms']} |"
            )
    for key, trace in results.get("traces", {}).items():
        if not trace:
            continue
        lines += [
            "",
            f"## Phases, {key} (--trace-worker; measured runs only)",
            "",
            "| phase | calls/step | median ms | p95 ms | ms/step |",
            "|---|---|---|---|---|",
        ]
        for phase, t in trace.items():
            lines.append(
                f"| {phase} | {t['calls_per_step']} | {t['median_ms']} | {t['p95_ms']} | "
                f"{t['ms_per_step']} |"
            )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.runner", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2 reps, 10 concurrent (~1 min)")
    parser.add_argument("--reps", type=int, default=0, help="repetitions for (a) (default 7)")
    parser.add_argument(
        "--concurrent", type=int, default=0, help="concurrent runs for (b) (default 50)"
    )
    parser.add_argument(
        "--latency-reps", type=int, default=0, help="repetitions for (c) (default 10)"
    )
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument(
        "--trace-worker",
        action="store_true",
        help="time the step activity's phases in the worker (BENCH_TRACE, runner_worker.py)",
    )
    parser.add_argument("--sample-worker", metavar="PATH", help="all-threads stack samples")
    parser.add_argument("--profile-worker", metavar="PATH", help="cProfile of the worker loop")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, DBs)")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    return parser.parse_args(argv)


async def bench(plan: Plan, tmp: Path, out: Path, results: dict[str, Any]) -> None:
    with contextlib.ExitStack() as stack:
        temporal: TemporalServer = stack.enter_context(temporal_server(tmp / "temporal"))
        log(f"Temporal dev server on {temporal.address} (pid {temporal.process.pid})")
        data_dir = tmp / "gallery"
        data_dir.mkdir()
        settings = fast_settings(
            data_dir=data_dir,
            database_url=sqlite_url(data_dir),
            temporal_address=temporal.address,
            task_queue=f"bench-gallery-{uuid.uuid4().hex[:6]}",
        )
        password = await _prepare(settings)
        server = stack.enter_context(app_server(settings_env(settings), tmp))
        log(f"Gallery at {server.base_url} (pid {server.pid}), SQLite {data_dir}")
        worker = stack.enter_context(gallery_worker(settings, plan, out))
        floor_queue = f"bench-floor-{uuid.uuid4().hex[:6]}"
        floor = stack.enter_context(
            floor_worker(
                temporal.address,
                floor_queue,
                settings.worker_slots,
                tmp,
                out / "floor-trace.jsonl" if plan.trace else None,
            )
        )
        gallery = Gallery(server.base_url, settings, "sqlite", password)
        user = gallery.user("bench")
        code = noop_code(tmp)
        stamps = tmp / "stamps"
        stamps.mkdir()
        log("publishing the chain, fan-out and wait pipelines with the SDK")
        chain_ref = await asyncio.to_thread(release, user, chain_workflow(code, CHAIN_STEPS))
        fan_ref = await asyncio.to_thread(release, user, fan_workflow(code, FAN_WIDTH))
        wait_ref = await asyncio.to_thread(release, user, wait_workflow(code, stamps))
        chain_id = import_workflow(user, *chain_ref, "chain")
        fan_id = import_workflow(user, *fan_ref, "fan")
        wait_id = import_workflow(user, *wait_ref, "wait")
        many = [
            import_workflow(user, *chain_ref, f"chain-c{i:03d}") for i in range(plan.concurrent)
        ]
        user.close()
        gallery.admin.close()
        pids = {
            "gallery_worker": worker.process.pid,
            "app": server.pid,
            "temporal": temporal.process.pid,
            "floor_worker": floor.process.pid,
        }
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=server.base_url + "/api/v1",
            headers=dict(user.headers),
            timeout=httpx.Timeout(plan.concurrent_timeout),
            limits=limits,
        ) as http:
            side = Side(
                http=http,
                gallery_temporal=await Client.connect(
                    temporal.address, data_converter=pydantic_data_converter
                ),
                floor_temporal=await Client.connect(temporal.address),
                floor_queue=floor_queue,
                pids=pids,
            )
            steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("per_step", lambda: measure_per_step(side, plan, chain_id, fan_id)),
                ("latency", lambda: measure_latency(side, plan, wait_id, stamps)),
            ]
            if not plan.skip_concurrent:
                steps.append(("concurrent", lambda: measure_concurrent(side, plan, many)))
            for name, step in steps:
                try:
                    results[name] = await step()
                except Exception as exc:  # keep what was measured; report the failure
                    log(f"{name} failed: {exc!r}")
                    results.setdefault("errors", []).append(f"{name}: {exc!r}")
        results["meta"]["worker_rss_mib"] = _rss(worker.process.pid)
    if plan.trace:
        traces: dict[str, Any] = {}
        for shape, entry in results.get("per_step", {}).items():
            sides = entry["sides"]
            count = entry["steps"]
            traces[f"{shape}, Gallery worker"] = trace_summary(
                out / "worker-trace.jsonl", sides["gallery"]["windows"], count
            )
            for variant in FLOOR_VARIANTS:
                traces[f"{shape}, {variant} worker"] = trace_summary(
                    out / "floor-trace.jsonl", sides[variant]["windows"], count
                )
        conc = results.get("concurrent")
        if conc:
            count = conc["runs"] * CHAIN_STEPS
            traces["concurrent, Gallery worker"] = trace_summary(
                out / "worker-trace.jsonl", conc["gallery"]["windows"], count
            )
            traces["concurrent, floor_bare worker"] = trace_summary(
                out / "floor-trace.jsonl", conc["floor_bare"]["windows"], count
            )
        results["traces"] = traces


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = Plan(args)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "command": " ".join(
                ["python -m tests.bench.runner", *(argv if argv is not None else sys.argv[1:])]
            ),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
            f"Python {platform.python_version()}",
            "git": git_head(),
            "quick": plan.quick,
            "reps": plan.reps,
            "concurrent": plan.concurrent,
            "latency_reps": plan.latency_reps,
            "noop": 'JobStep, published algorithm asset with command="true" '
            "(the worker runs `true` in the step sandbox, in a fresh working dir)",
            "floor": "FloorChain/FloorFan/FloorWait (tests/bench/runner_floor.py); activities "
            "`noop` (return) and `spawn_true` (asyncio subprocess /bin/true)",
            "temporal": "temporal server start-dev, --dynamic-config-value "
            "history.transferProcessorMaxPollRPS=1000 (runner.embedded)",
        },
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="gallery-bench-runner-"))
    try:
        asyncio.run(bench(plan, tmp, out, results))
    except Exception as exc:
        log(f"failed: {exc!r}")
        results.setdefault("errors", []).append(repr(exc))
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    results["prefect"] = measure_prefect(plan)
    results["meta"]["seconds"] = round(time.perf_counter() - t0, 1)
    rows = evaluate(results, plan)
    results["targets"] = rows
    report = markdown(results, rows)
    if results.get("errors"):
        report += "\nErrors:\n" + "\n".join(f"* {e}" for e in results["errors"]) + "\n"
    print(report)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if plan.quick else "")
    (out / f"runner-{stamp}.md").write_text(report)
    (out / f"runner-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"wrote {out}/runner-{stamp}.md and .json in {results['meta']['seconds']} s total")
    failed = results.get("errors") or any(r["result"] == "FAIL" for r in rows)
    return 1 if failed else 0


def _rss(pid: int) -> float:
    with contextlib.suppress(OSError):
        return round(rss_mib(pid), 1)
    return math.nan


if __name__ == "__main__":
    sys.exit(main())
