"""The server as an operator sees it: one log line per request with its id (JSON lines when
asked), and an OpenAPI document that says the version, the areas and how to authenticate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, wait_until_healthy

GALLERY = str(Path(sys.executable).with_name("gallery"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``gallery serve`` on a fresh SQLite data dir with JSON logs; (URL, its stderr file)."""
    data = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {
        **os.environ,
        "GALLERY_DATA_DIR": str(data),
        "GALLERY_LOG_FORMAT": "json",
        "GALLERY_PASSWORD_MEMORY_KIB": "1024",
        "GALLERY_PASSWORD_TIME_COST": "1",
    }
    for name in ("GALLERY_DATABASE_URL", "GALLERY_S3_ENDPOINT", "GALLERY_TEMPORAL_ADDRESS"):
        env.pop(name, None)
    log = data / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [GALLERY, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def request_lines(log: Path, request_id: str) -> list[dict[str, object]]:
    """The JSON log lines about one request (waiting briefly: it is written after the answer)."""
    deadline = time.monotonic() + 10
    while True:
        found = []
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("request_id") == request_id:
                    found.append(entry)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_every_request_is_one_json_line_with_its_id(served: tuple[str, Path]) -> None:
    url, log = served
    answer = httpx.get(url + "/api/v1/assets?q=nothing-here")
    assert answer.status_code == 200
    request_id = answer.headers["x-request-id"]
    [entry] = request_lines(log, request_id)
    assert entry["logger"] == "gallery.requests" and entry["level"] == "info"
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/v1/assets"  # never the query string
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)
    assert entry["time"]
    name, _, took = answer.headers["server-timing"].partition(";dur=")
    assert name == "app" and 0 <= float(took) <= entry["duration_ms"]


def test_a_callers_request_id_is_kept_and_a_bad_one_replaced(served: tuple[str, Path]) -> None:
    url, log = served
    mine = httpx.get(url + "/api/v1/nowhere", headers={"X-Request-ID": "trace-42.a:b"})
    assert mine.status_code == 404
    assert mine.headers["x-request-id"] == "trace-42.a:b"
    [entry] = request_lines(log, "trace-42.a:b")
    assert entry["status"] == 404 and entry["path"] == "/api/v1/nowhere"
    hostile = httpx.get(url + "/health", headers={"X-Request-ID": "x" * 65})
    replaced = hostile.headers["x-request-id"]
    assert replaced != "x" * 65 and len(replaced) == 16
    assert request_lines(log, replaced)


def test_openapi_has_version_tags_and_security(served: tuple[str, Path]) -> None:
    url, _ = served
    document = httpx.get(url + "/schema/openapi.json").json()
    assert document["info"]["version"] == metadata.version("gallery")
    tags = {tag["name"] for tag in document["tags"]}
    assert tags == {
        "accounts",
        "assets",
        "catalog",
        "workspaces",
        "executions",
        "labeling",
        "services",
    }
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["password"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert {} in document["security"]  # anonymous reads of public assets
    operations = [
        operation
        for path in document["paths"].values()
        for method, operation in path.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert operations
    untagged = [o.get("operationId") for o in operations if not set(o.get("tags", [])) & tags]
    assert untagged == []
