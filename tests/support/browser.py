"""Headless Chromium for the browser suite (DESIGN.md §6): Debian's ``/usr/bin/chromium``
driven by Playwright (no browser is ever downloaded), signing in through the real form, the
axe-core audit (bundled with ``axe-playwright-python``: it works offline) and layout checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Dialog, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


def chromium_missing() -> str | None:
    """Why the browser suite cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install chromium)"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """One headless Chromium for as long as the block lasts."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Dialogs:
    """Every ``alert``/``confirm``/``prompt`` a page opened (dismissed at once): an injected
    ``<script>`` that ran shows up here."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("dialog", self._opened)

    def _opened(self, dialog: Dialog) -> None:
        self.seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


def sign_in(page: Page, username: str, password: str, *, next: str | None = None) -> None:
    """Sign in through the sign-in form (``next``: the page to come back to)."""
    page.goto("/login" + (f"?next={next}" if next else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.locator("header .me").inner_text() == username, page.content()


def signed_in_state(browser: Browser, base_url: str, username: str, password: str) -> Any:
    """The cookies of a browser signed in through the form, for ``new_context(storage_state=)``:
    fresh contexts of the same user without signing in again."""
    context = browser.new_context(base_url=base_url)
    try:
        sign_in(context.new_page(), username, password)
        return context.storage_state()
    finally:
        context.close()


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def path_of(page: Page) -> str:
    """The page's path and query (without the scheme and host)."""
    return re.sub(r"^[a-z]+://[^/]+", "", page.url)


def serious_violations(page: Page) -> list[str]:
    """The axe-core audit of the page as it is now: every *serious* or *critical* violation,
    one line each (rule, impact, what it means, the elements)."""
    from axe_playwright_python.sync_playwright import Axe

    results: dict[str, Any] = Axe().run(page).response
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in SERIOUS:
            continue
        nodes = "; ".join(
            f"{' '.join(node['target'])} = {node['html'][:160]}" for node in violation["nodes"][:5]
        )
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            f"{len(violation['nodes'])} element(s): {nodes}"
        )
    return lines


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    width: int = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return max(width, 0)


def too_wide(page: Page, limit: int = 12) -> list[str]:
    """The outermost elements that stick out past the right edge of the window (what makes
    a page scroll sideways), for the failure message."""
    found: list[str] = page.evaluate(
        """(limit) => {
            const edge = document.documentElement.clientWidth;
            const out = [];
            for (const el of document.querySelectorAll('body *')) {
                const box = el.getBoundingClientRect();
                if (box.right <= edge + 1 || box.width === 0) continue;
                // an ancestor that sticks out too, or scrolls (or clips) its content, is the
                // one to name; an absolutely placed element escapes a scrolling box unless
                // that box is positioned
                const loose = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
                let parent = el.parentElement, inner = false;
                while (parent && parent !== document.body) {
                    const style = getComputedStyle(parent);
                    const clips = style.overflowX !== 'visible' &&
                        (!loose || style.position !== 'static');
                    if (parent.getBoundingClientRect().right > edge + 1 || clips) {
                        inner = true;
                        break;
                    }
                    parent = parent.parentElement;
                }
                if (inner) continue;
                const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && typeof el.className === 'string'
                        ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
                out.push(name + ' right=' + Math.round(box.right));
                if (out.length >= limit) break;
            }
            return out;
        }""",
        limit,
    )
    return found
