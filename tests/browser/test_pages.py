"""Every main page, as its user sees it, at desktop (1280x800) and phone (390x844) size: it
answers 200, the axe-core audit finds no *serious* or *critical* violation, and the page does
not scroll sideways (wide tables and pictures scroll inside their own box)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize

from tests.browser.demo import Demo
from tests.browser.screens import PAGES, Who
from tests.support.browser import (
    DESKTOP,
    PHONE,
    horizontal_overflow,
    serious_violations,
    signed_in_state,
    too_wide,
)
from tests.support.gallery import Gallery

SIZES: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}  # type: ignore[dict-item]


_STATES: dict[tuple[str, Who], Any] = {}


@pytest.fixture
def states(browser: Browser, gallery: Gallery, demo: Demo) -> dict[Who, Any]:
    """Each demo user signed in once through the form (anonymous: no cookies); the cookies
    stay good for the whole run."""
    for who, user in (("publisher", demo.publisher), ("consumer", demo.consumer)):
        key = (gallery.base_url, who)
        if key not in _STATES:
            _STATES[key] = signed_in_state(browser, gallery.base_url, *user)
    return {None: None} | {
        who: _STATES[(gallery.base_url, who)] for who in ("publisher", "consumer")
    }


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_is_accessible_and_fits(
    browser: Browser,
    gallery: Gallery,
    demo: Demo,
    states: dict[Who, Any],
    name: str,
    who: Who,
    path: Callable[[Demo], str],
    size: str,
) -> None:
    context = browser.new_context(
        base_url=gallery.base_url, viewport=SIZES[size], storage_state=states[who]
    )
    try:
        page = context.new_page()
        answer = page.goto(path(demo))
        assert answer is not None and answer.status == 200, f"{name}: {answer and answer.status}"
        if who is not None:
            assert (
                page.locator("header .me").inner_text()
                == (demo.publisher if who == "publisher" else demo.consumer)[0]
            )
        problems = serious_violations(page)
        assert not problems, f"{name} ({size}):\n" + "\n".join(problems)
        overflow = horizontal_overflow(page)
        assert overflow == 0, f"{name} ({size}) scrolls sideways by {overflow}px: {too_wide(page)}"
    finally:
        context.close()
