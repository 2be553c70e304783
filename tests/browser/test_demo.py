"""The first-run demo in the browser, as the issue's "done when" says: catalog → Digits
classification → Run → label the images left unlabelled (keyboard) → continue → the service step
asks for its model version → continue → the service answers predictions (its page's *try it*,
and plain HTTP, as curl would) → the model's page shows its lineage."""

from __future__ import annotations

import json
import random
import re

import httpx
from playwright.sync_api import Page, expect
from sklearn.datasets import load_digits

from tests.conftest import Runtime
from tests.sdk.support import token_of
from tests.support.browser import sign_in
from tests.support.gallery import Gallery
from tests.support.runner import stop_services, wait_for
from web import seed

SAMPLES = 300  # the demo's defaults
UNLABELLED = 6


def truth() -> list[str]:
    """The digit of each image the demo's prepare step writes (it picks them this way)."""
    digits = load_digits()
    chosen = random.Random(7).sample(range(len(digits.target)), SAMPLES)
    return [str(digits.target[i]) for i in chosen]


def test_the_demo_from_the_catalog_to_predictions(
    page: Page, gallery: Gallery, stack: Runtime
) -> None:
    publisher = gallery.login(*gallery.new_user("system"))
    seed.publish(gallery.base_url, token_of(publisher), lambda _: None)  # as `gallery up` does
    user = gallery.new_user("newcomer")
    api = gallery.login(*user)
    try:
        sign_in(page, *user)
        page.goto("/?q=Digits+classification")
        with page.expect_navigation():
            page.get_by_role("link", name="Digits classification").first.click()
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile(r"^Run v")).click()
        execution_id = page.url.split("/executions/")[1].split("?")[0]
        wait_for(api, execution_id, lambda e: e["status"] == "waiting_input")

        # The execution page's Continue box points to the labeling page too.
        page.goto(f"/executions/{execution_id}?step=label")
        expect(
            page.locator("#continue").get_by_role("link", name="Label the samples")
        ).to_be_visible()
        # The to-do list leads to the labeling page; the keyboard labels each image.
        page.goto("/todo")
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("^Label the samples")).click()
        expect(page.locator("#progress-text")).to_have_text(
            f"{SAMPLES - UNLABELLED} of {SAMPLES} labelled"
        )
        task_url = page.url.split("?")[0]
        digits = truth()
        for index in range(UNLABELLED):
            page.goto(f"{task_url}?i={index}")
            expect(page.locator("#current-label")).to_have_text("Not labelled yet")
            page.locator("#sample-title").click()  # focus the page, not a field
            page.keyboard.press(digits[index])
            expect(page.locator("#progress-text")).to_have_text(
                f"{SAMPLES - UNLABELLED + index + 1} of {SAMPLES} labelled"
            )
        expect(page.get_by_text("The completion rule holds")).to_be_visible()

        # Continue the labeling step from the execution page.
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("^continue step label")).click()
        form = page.locator("#continue")
        with page.expect_navigation():
            form.get_by_role("button", name="Continue").click()
        waiting = wait_for(
            api,
            execution_id,
            lambda e: (
                any(s["name"] == "deploy" and s["status"] == "waiting_input" for s in e["steps"])
                or e["status"] in ("failed", "stopped")
            ),
            timeout=240,
        )
        register = next(s for s in waiting["steps"] if s["name"] == "register")
        version = register["outputs"]["model_version"].split("@")[1]

        # The service step asks which model version to serve.
        page.goto(f"/executions/{execution_id}?step=deploy")
        choice = json.dumps([{"model_name": "digits_classifier", "model_version": version}])
        page.locator("#continue textarea").fill(choice)
        with page.expect_navigation():
            page.locator("#continue").get_by_role("button", name="Continue").click()
        done = wait_for(api, execution_id, timeout=120)
        assert done["status"] == "succeeded", done
        endpoint = next(s for s in done["steps"] if s["name"] == "deploy")["outputs"]["service"]

        # curl's way: plain HTTP to the endpoint.
        images = load_digits().images
        inputs = [[float(v) for v in images[i].flatten()] for i in range(10)]
        answer = httpx.post(f"{endpoint}/predict", json={"inputs": inputs}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert (
            sum(
                p == str(t)
                for p, t in zip(answer.json()["outputs"], load_digits().target[:10], strict=True)
            )
            >= 7
        )

        # The service's page: its endpoint and a try-it form.
        page.goto("/services")
        with page.expect_navigation():
            page.get_by_role("link", name="digits").first.click()
        expect(page.get_by_text(endpoint, exact=True)).to_be_visible()
        page.locator("form textarea").first.fill(json.dumps(inputs[:1]))
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile("^Try it|^Predict|^Send")).click()
        expect(page.locator("main")).to_contain_text("outputs")

        # The model's page shows where it came from.
        model_id = register["outputs"]["model_version"].split("@")[0]
        page.goto(f"/assets/{model_id}")
        expect(page.get_by_role("heading", name="Lineage")).to_be_visible()
        expect(page.locator("main")).to_contain_text("step register of workflow")
        expect(page.locator("main")).to_contain_text("train.accuracy")
    finally:
        stop_services(stack.gallery.settings.data_dir)
