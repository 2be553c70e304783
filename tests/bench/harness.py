"""Benchmark plumbing: server and S3 child processes, process CPU, load workers, statistics."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def git_head() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    return "?"


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(latencies_ms),
        "p50": round(percentile(latencies_ms, 50), 2),
        "p95": round(percentile(latencies_ms, 95), 2),
        "p99": round(percentile(latencies_ms, 99), 2),
        "mean": round(sum(latencies_ms) / len(latencies_ms), 2) if latencies_ms else math.nan,
        "max": round(max(latencies_ms), 2) if latencies_ms else math.nan,
    }


# --------------------------------------------------------------------------- process stats


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU time of a process (all its threads), from /proc; with ``children``,
    also that of the children it has waited for (a worker's job subprocesses)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    used = (11, 12, 13, 14) if children else (11, 12)
    return sum(int(fields[i]) for i in used) / CLK_TCK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


class CpuWatch:
    """Machine-wide CPU use over a phase vs our own server's, to flag foreign load (others'
    test runs on the same 2 cores disturb latency numbers)."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.busy0, self.total0 = machine_busy_seconds()
        self.server0 = cpu_seconds(server_pid) if server_pid else 0.0
        self.wall0 = time.perf_counter()

    def result(self) -> dict[str, float]:
        busy, total = machine_busy_seconds()
        wall = time.perf_counter() - self.wall0
        server = (cpu_seconds(self.server_pid) - self.server0) if self.server_pid else 0.0
        return {
            "machine_busy_pct": round(
                100 * (busy - self.busy0) / max(total - self.total0, 1e-9), 1
            ),
            "server_cpu_pct_of_one_core": round(100 * server / max(wall, 1e-9), 1),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


# --------------------------------------------------------------------------- child servers


@dataclass
class AppServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> float:
        return rss_mib(self.pid)


def _stop(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def app_server(env: dict[str, str], log_dir: Path) -> Iterator[AppServer]:
    """Start ``web.app.create_app(Settings())`` under uvicorn in a separate process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    log_path = log_dir / f"server-{port}.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("GALLERY_")}
    child_env.update(env)
    child_env["PYTHONPATH"] = str(ROOT)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.serve_app", str(sock.fileno())],
            pass_fds=[sock.fileno()],
            env=child_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sock.close()  # the child has its own copy
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early; see {log_path}:\n{log_path.read_text()}")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer within 60 s; see {log_path}")
            time.sleep(0.05)
        yield AppServer(base, process, log_path)
    finally:
        _stop(process)


@contextlib.contextmanager
def moto_endpoint() -> Iterator[tuple[str, int]]:
    """moto's S3 server (tests/support/moto.py) in a child process; yields (endpoint, pid)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.moto_proc"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # werkzeug logs every request there
    )
    try:
        assert process.stdout is not None
        found: list[str] = []

        def read_line() -> None:
            assert process.stdout is not None
            found.append(process.stdout.readline().decode())

        reader = threading.Thread(target=read_line, daemon=True)
        reader.start()
        reader.join(30)
        if not found or not found[0].startswith("ENDPOINT "):
            raise RuntimeError(f"moto did not start: {found!r}")
        yield found[0].split()[1], process.pid
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            _stop(process)


# --------------------------------------------------------------------------- HTTP helpers


def login(base_url: str, username: str, password: str) -> str:
    answer = httpx.post(
        base_url + API + "/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def client(base_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url + API, headers=headers, timeout=60)


# --------------------------------------------------------------------------- load workers
#
# A job is run by P worker processes x T threads each; every thread has its own keep-alive
# httpx client. Requests are ("GET", path, params, identity) or ("PUBLISH", content_id, None,
# identity); identity indexes the job's token list (None = anonymous).

Req = tuple[str, str, Any, int | None]


@dataclass
class LoadResult:
    latencies_ms: list[float]
    statuses: Counter[int]
    wall_s: float
    client_cpu_s: float
    errors: list[str]
    bodies: list[Any]


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    """Runs in a worker process: T threads share this process's slice of requests."""
    base_url: str = job["base_url"]
    tokens: list[str] = job["tokens"]
    requests: list[Req] = job["requests"]
    threads: int = job["threads"]
    duration: float | None = job["duration"]
    max_requests: int = job["max_requests"]
    package: bytes | None = job["package"]
    keep_bodies: bool = job["keep_bodies"]
    counter = iter(range(max_requests))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    bodies: list[Any] = []
    clients = [
        [client(base_url, None)] + [client(base_url, t) for t in tokens] for _ in range(threads)
    ]
    for per_thread in clients:  # open the connections before the clock starts
        for c in per_thread:
            c.get("/assets", params={"page_size": 1})
    while time.time() < job["start_at"]:
        time.sleep(0.001)
    deadline = time.perf_counter() + duration if duration else math.inf

    def run(thread_clients: list[httpx.Client]) -> None:
        mine: list[float] = []
        mine_status: Counter[int] = Counter()
        mine_bodies: list[Any] = []
        while time.perf_counter() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            method, path, params, who = requests[index % len(requests)]
            http = thread_clients[0 if who is None else who + 1]
            started = time.perf_counter()
            try:
                if method == "GET":
                    answer = http.get(path, params=params)
                else:
                    files: dict[str, Any] = {
                        "manifest": (None, b'{"description": "bench"}', "application/json"),
                        "package": ("p.tar.gz", package, "application/gzip"),
                    }
                    answer = http.post(f"/assets/{path}/versions", files=files)
                elapsed = (time.perf_counter() - started) * 1000
            except httpx.HTTPError as exc:
                with lock:
                    errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            mine.append(elapsed)
            mine_status[answer.status_code] += 1
            if answer.status_code >= 400 and len(errors) < 20:
                with lock:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")
            if keep_bodies and answer.status_code < 400:
                mine_bodies.append(answer.json().get("version"))
        with lock:
            latencies.extend(mine)
            statuses.update(mine_status)
            bodies.extend(mine_bodies)

    cpu0 = time.process_time()
    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    for per_thread in clients:
        for c in per_thread:
            c.close()
    return {
        "latencies": latencies,
        "statuses": dict(statuses),
        "wall": wall,
        "cpu": cpu,
        "errors": errors,
        "bodies": bodies,
    }


def run_load(
    base_url: str,
    requests: list[Req],
    *,
    tokens: Sequence[str] = (),
    processes: int = 2,
    threads: int = 4,
    duration: float | None = None,
    max_requests: int | None = None,
    package: bytes | None = None,
    keep_bodies: bool = False,
) -> LoadResult:
    """Drive the server with processes x threads concurrent keep-alive clients.

    With ``duration`` the request list is cycled until time runs out (capped by
    ``max_requests``); without it each request in the list is sent exactly once.
    """
    if duration is None:
        slices = [requests[i::processes] for i in range(processes)]
        caps = [len(s) for s in slices]
    else:
        slices = [requests] * processes
        cap = max_requests or 10**9
        caps = [cap // processes] * processes
    start_at = time.time() + 3.0  # leaves time for the spawned workers to import and connect
    jobs = [
        {
            "base_url": base_url,
            "tokens": list(tokens),
            "requests": s,
            "threads": threads,
            "duration": duration,
            "max_requests": c,
            "package": package,
            "keep_bodies": keep_bodies,
            "start_at": start_at,
        }
        for s, c in zip(slices, caps, strict=True)
    ]
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_worker, jobs))
    latencies = [x for r in results for x in r["latencies"]]
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update({int(k): v for k, v in r["statuses"].items()})
    return LoadResult(
        latencies_ms=latencies,
        statuses=statuses,
        wall_s=max(r["wall"] for r in results),
        client_cpu_s=sum(r["cpu"] for r in results),
        errors=[e for r in results for e in r["errors"]][:20],
        bodies=[b for r in results for b in r["bodies"]],
    )
