"""``make screens``: start a Gallery with a runner and demo data (tests/browser/demo.py), and
take a desktop (1280x800) and a phone (390x844) screenshot of each main page of the web
console into ``docs/screens/NAME-desktop.png`` and ``NAME-phone.png`` (whole pages).

    python -m tests.browser.screens [--out docs/screens] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, ViewportSize

from tests.browser.demo import Demo, seed
from tests.support.browser import DESKTOP, PHONE, chromium, chromium_missing, sign_in
from tests.support.databases import sqlite_url
from tests.support.gallery import fast_settings, running_gallery
from tests.support.runner import running_worker, stop_services, temporal_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screens"
SIZES: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}  # type: ignore[dict-item]

Who = str | None
"""Who looks: None (anonymous), "publisher" or "consumer"."""

PAGES: list[tuple[str, Who, Callable[[Demo], str]]] = [
    ("catalog", "consumer", lambda d: "/"),
    ("catalog-anonymous", None, lambda d: "/?q=classifier"),
    ("login", None, lambda d: "/login"),
    ("asset", "consumer", lambda d: f"/assets/{d.asset.content_id}"),
    ("asset-import", "consumer", lambda d: f"/assets/{d.asset.content_id}?import=1"),
    ("model", "consumer", lambda d: f"/assets/{d.model}"),
    ("my-assets", "publisher", lambda d: "/my/assets"),
    ("workspaces", "consumer", lambda d: "/workspaces"),
    ("workspace", "consumer", lambda d: f"/workspaces/{d.workspace}"),
    ("workflow", "consumer", lambda d: f"/workflows/{d.workflow_id}"),
    ("workflow-missing", "consumer", lambda d: f"/workflows/{d.workflow_id}?missing=score"),
    ("execution-waiting", "consumer", lambda d: f"/executions/{d.waiting}?step=export"),
    ("execution-metrics", "consumer", lambda d: f"/executions/{d.succeeded}?step=train"),
    ("execution-retried", "consumer", lambda d: f"/executions/{d.retried}?step=train"),
    ("execution-debug", "consumer", lambda d: f"/executions/{d.debugging}"),
    ("runs", "consumer", lambda d: "/runs"),
    ("compare", "consumer", lambda d: f"/runs/compare?ids={d.succeeded},{d.retried}"),
    ("todo", "consumer", lambda d: "/todo"),
    ("labeling", "consumer", lambda d: f"/label-tasks/{d.label_task}"),
    ("services", "consumer", lambda d: "/services"),
    ("service", "consumer", lambda d: f"/services/{d.service}"),
]


def _shoot(
    browser: Browser, base_url: str, demo: Demo, out: Path, only: set[str]
) -> tuple[list[Path], list[str]]:
    """Take the screenshots; the files written, and the pages that did not answer 200."""
    written: list[Path] = []
    broken: list[str] = []
    for size, viewport in SIZES.items():
        contexts: dict[Who, BrowserContext] = {}
        try:
            for name, who, path in PAGES:
                if only and name not in only:
                    continue
                if who not in contexts:
                    contexts[who] = browser.new_context(base_url=base_url, viewport=viewport)
                    if who is not None:
                        user = demo.publisher if who == "publisher" else demo.consumer
                        sign_in(contexts[who].new_page(), *user)
                page = contexts[who].new_page()
                answer = page.goto(path(demo), wait_until="load")
                status = answer.status if answer is not None else 0
                # live pages keep an event stream open: give their first update a moment
                page.wait_for_timeout(400)
                target = out / f"{name}-{size}.png"
                page.screenshot(path=str(target), full_page=True, animations="disabled")
                page.close()
                print(f"{target} ({status})", flush=True)
                written.append(target)
                if status != 200:
                    broken.append(f"{name} ({size}): {path(demo)} answered {status}")
        finally:
            for context in contexts.values():
                context.close()
    return written, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    parser.add_argument("--only", nargs="*", default=[], help="page names to take (default all)")
    args = parser.parse_args(argv)
    missing = chromium_missing()
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gallery-screens-") as scratch:
        root = Path(scratch)
        with temporal_server(root / "temporal") as temporal:
            settings = fast_settings(
                data_dir=root / "data",
                database_url=sqlite_url(root / "data"),
                temporal_address=temporal.address,
                task_queue=f"screens-{uuid.uuid4().hex[:8]}",
            )
            (root / "data").mkdir()
            print("starting a Gallery with demo data ...", flush=True)
            try:
                with running_gallery(settings, "sqlite") as gallery, running_worker(settings):
                    demo = seed(gallery, root / "code")
                    with chromium() as browser:
                        written, broken = _shoot(
                            browser, gallery.base_url, demo, args.out, set(args.only)
                        )
            finally:
                stop_services(root / "data")
    print(f"{len(written)} screenshots in {args.out}")
    for line in broken:
        print(f"error: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
