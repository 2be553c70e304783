"""The first ``gallery up`` on an empty data dir seeds the public demo "Digits classification"
(owned by the system account ``gallery``) and says so; later runs do not seed it again, and
``GALLERY_SEED_DEMO=0`` turns it off (the other ``gallery up`` tests run that way)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_cli import GALLERY, gallery_up
from tests.support.server import wait_until_healthy


def _seeded_line(log: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        for line in text.splitlines():
            if line.startswith(("Seeded the demo", "warning: the demo was not seeded")):
                return line
        time.sleep(0.25)
    raise AssertionError(f"no word about the demo:\n{log.read_text()}")


def test_the_first_up_seeds_the_public_demo_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with gallery_up(data, seed_demo=True) as run:
        line = _seeded_line(data / "up.log")
        assert line.startswith("Seeded the demo: 'Digits classification' (public, owned by"), line
        found = httpx.get(
            f"{run.url}/api/v1/assets", params={"q": "Digits classification", "kind": "workflow"}
        ).json()["items"]  # anonymous: it is public
        [demo] = found
        assert (demo["title"], demo["owner"], demo["visibility"]) == (
            "Digits classification",
            "gallery",
            "public",
        )
        assert "demo" in demo["tags"]
        # Its algorithms are public too: anyone can import and run it.
        version = httpx.get(
            f"{run.url}/api/v1/assets/{demo['content_id']}/versions/{demo['latest_version']}"
        ).json()
        assert len(version["dependencies"]) == 2
        for dependency in version["dependencies"]:
            algorithm = httpx.get(f"{run.url}/api/v1/assets/{dependency['content_id']}")
            assert algorithm.status_code == 200 and algorithm.json()["visibility"] == "public"
        # The system account cannot sign in; its publishing token is revoked.
        refused = httpx.post(
            f"{run.url}/api/v1/auth/token",
            data={"grant_type": "password", "username": "gallery", "password": ""},
        )
        assert refused.status_code in (400, 401, 422)
        env = run.env
    # A second `up` on the same data dir does not seed it again.
    log = data / "again.log"
    with log.open("w") as out:
        again = subprocess.Popen([GALLERY, "up"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(run.url, again, log)
        time.sleep(2)
        assert "Seeded the demo" not in log.read_text()
        found = httpx.get(f"{run.url}/api/v1/assets", params={"q": "Digits classification"})
        assert len(found.json()["items"]) == 1
    finally:
        again.terminate()
        again.wait(timeout=30)
