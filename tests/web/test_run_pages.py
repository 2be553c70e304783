"""The run pages (an execution, all runs, a comparison, the to-do list) as a browser without
JavaScript uses them (forms, redirects, CSRF tokens), on a real Temporal dev server and
worker, on SQLite and PostgreSQL: the page shows the runner's statuses, and Continue, Retry,
Stop, Rerun, Delete and labels go through the same actions as the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import sdk as wf
from registry.executions.schemas import CompareRow
from sdk import spec as ir
from tests.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.runner.test_development import chain
from tests.sdk.support import token_of
from tests.support.browser import Dialogs, chromium, chromium_missing
from tests.support.executions import record_runs
from tests.support.gallery import Gallery
from tests.support.runner import step, step_is, wait_for
from tests.support.web import WebClient, tag_of, text_of, web_client, web_user
from web import forms
from web.pages.runs import compare_lines, lower_is_better

XSS = "<script>alert(1)</script>"


@pytest.fixture
def browser(runtime: Runtime) -> WebClient:
    return web_user(runtime.gallery, "runs")


def page_of(client: WebClient, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    return answer.text


def node_status(page: str, name: str) -> str:
    found = re.search(rf'<g class="node" data-step="{name}" data-status="([a-z_]+)"', page)
    assert found, f"no node {name!r} in the DAG"
    return found.group(1)


def gated(code: Path) -> wf.Workflow:
    """first → gate, which waits for a choice and a number (both delayed)."""
    label = wf.Placeholder(
        name="label",
        placeholder_type=wf.PlaceholderType.ENUM,
        enum_list=["yes", "no"],
        delay=True,
        description=f"approve the release {XSS}",
    )
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, delay=True)
    first = job("first", code)
    gate = job("gate", code, parameters={"label": label, "score": score}, depends=[first])
    return wf.Workflow(name="gated", desc="", steps=[first, gate])


def test_a_waiting_step_is_continued_through_its_typed_form(
    runtime: Runtime, browser: WebClient, tmp_path: Path
) -> None:
    workflow_id = imported(browser.api, gated(tool_dir(tmp_path)))
    execution = start(browser.api, workflow_id)
    wait_for(browser.api, execution["id"], step_is("gate", "waiting_input"))
    here = f"/executions/{execution['id']}"

    todo = page_of(browser, "/todo")
    assert f'href="{here}?step=gate#continue"' in todo
    assert re.search(r'id="todo-badge"[^>]*>1</span>', todo)  # the header's count, without JS
    assert "approve the release &lt;script&gt;" in todo and XSS not in todo

    page = page_of(browser, here)  # the waiting step is the one shown
    assert node_status(page, "first") == "succeeded"
    assert node_status(page, "gate") == "waiting_input"
    assert 'data-step="gate"' in tag_of(page, "step-panel")
    assert '<span class="status waiting_input" data-panel-status>waiting for input</span>' in page
    assert 'id="continue"' in page
    select = tag_of(page, "continue-label")
    assert select.startswith("<select") and 'name="label"' in select
    assert '<option value="yes">yes</option>' in page  # a choice travels as its text
    number = tag_of(page, "continue-score")
    assert 'type="number"' in number and 'step="any"' in number
    assert "approve the release &lt;script&gt;" in page and XSS not in page

    url = f"{here}/steps/gate/continue"
    refused = browser.submit(url, {"label": '"yes"', "score": "high"})
    assert refused.status_code == 422
    assert "'high' is not of type float" in text_of(refused.text, "continue-score-error")
    assert 'aria-invalid="true"' in tag_of(refused.text, "continue-score")
    assert 'value="high"' in tag_of(refused.text, "continue-score")  # what was typed stays
    assert "continue-label-error" not in refused.text
    unknown_choice = browser.submit(url, {"label": '"maybe"', "score": "1"})
    assert unknown_choice.status_code == 422
    assert "is not one of" in text_of(unknown_choice.text, "continue-label-error")
    missing = browser.submit(url, {"label": "", "score": "1"})
    assert missing.status_code == 422
    assert "needs a value" in text_of(missing.text, "continue-label-error")
    still = browser.api.get(f"/executions/{execution['id']}").json()
    assert step(still, "gate")["status"] == "waiting_input" and "label" not in still["parameters"]

    other = web_user(runtime.gallery, "other")
    assert other.get(here).status_code == 404
    assert other.submit(url, {"label": '"yes"', "score": "1"}).status_code == 404
    assert other.get("/todo").text.count("#continue") == 0
    no_token = browser.post(url, data={"label": '"yes"', "score": "1"})
    assert no_token.status_code == 403

    done = browser.submit(url, {"label": "yes", "score": "2.5"})  # as the select sends it
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{here}?step=gate"
    finished = wait_for(browser.api, execution["id"])
    assert finished["status"] == "succeeded"
    assert finished["parameters"]["label"] == "yes" and finished["parameters"]["score"] == 2.5
    page = page_of(browser, f"{here}?step=gate")
    assert node_status(page, "gate") == "succeeded"
    assert 'id="continue"' not in page
    assert "tool: label=yes score=2.5" in text_of(page, "log")  # the log, server-side
    assert "Nothing is waiting for you." in page_of(browser, "/todo")
    assert re.search(r'id="todo-badge"[^>]*>0</span>', page_of(browser, "/todo"))


def flaky(code: Path) -> wf.Workflow:
    fail = wf.Placeholder(name="fail", placeholder_type=wf.PlaceholderType.BOOL, default=True)
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    first = job("first", code, parameters={"score": score})
    flake = job("flaky", code, parameters={"fail": fail}, depends=[first])
    after = job("after", code, depends=[flake])
    return wf.Workflow(name="flaky", desc="", steps=[first, flake, after])


def test_a_failed_step_is_retried_with_a_changed_value(browser: WebClient, tmp_path: Path) -> None:
    workflow_id = imported(browser.api, flaky(tool_dir(tmp_path)))
    execution = start(browser.api, workflow_id)
    wait_for(browser.api, execution["id"], lambda e: e["status"] == "failed")
    here = f"/executions/{execution['id']}"

    page = page_of(browser, here)  # the failed step is the one shown
    assert node_status(page, "flaky") == "failed" and node_status(page, "after") == "pending"
    assert "failing as asked" in page  # its error
    assert 'id="retry"' in page
    checkbox = tag_of(page, "retry-fail")
    assert 'type="checkbox"' in checkbox and "checked" in checkbox  # prefilled: the run's value
    assert 'value="0.5"' in tag_of(page, "retry-score")
    assert ">Rerun<" in page and ">Delete run<" in page and ">Stop run<" not in page

    url = f"{here}/steps/flaky/retry"
    refused = browser.submit(url, {"fail": "false", "score": "high"})
    assert refused.status_code == 422
    assert "'high' is not of type float" in text_of(refused.text, "retry-score-error")
    assert "<details open>" in refused.text  # the changed values stay in view
    assert browser.api.get(f"/executions/{execution['id']}").json()["status"] == "failed"

    # The checkbox unticked (only its hidden "false" is sent); the score as it was.
    retried = browser.submit(url, {"fail": "false", "score": "0.5"})
    assert retried.status_code == 303, retried.text
    assert retried.headers["location"] == f"{here}?step=flaky"
    done = wait_for(browser.api, execution["id"])
    assert done["status"] == "succeeded", done
    assert step(done, "flaky")["attempt"] == 2 and step(done, "first")["attempt"] == 1
    assert done["parameters"]["fail"] is False
    page = page_of(browser, f"{here}?step=flaky")
    assert node_status(page, "flaky") == "succeeded" and node_status(page, "after") == "succeeded"
    assert 'id="retry"' not in page


def slow(code: Path) -> wf.Workflow:
    sleep = wf.Placeholder(name="sleep", placeholder_type=wf.PlaceholderType.FLOAT, default=300.0)
    return wf.Workflow(name="slow", desc="", steps=[job("slow", code, parameters={"sleep": sleep})])


def test_stop_a_step_rerun_stop_the_run_and_delete_from_the_pages(
    browser: WebClient, tmp_path: Path
) -> None:
    workflow_id = imported(browser.api, slow(tool_dir(tmp_path)))
    execution = start(browser.api, workflow_id)
    wait_for(browser.api, execution["id"], step_is("slow", "running"))
    here = f"/executions/{execution['id']}"
    page = page_of(browser, here)
    assert node_status(page, "slow") == "running"
    assert ">Stop step<" in page and ">Stop run<" in page and ">Delete run<" not in page
    assert f'data-log-url="/api/v1/executions/{execution["id"]}/steps/slow/logs"' in page

    stopped = browser.submit(f"{here}/steps/slow/stop")
    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"{here}?step=slow"
    assert wait_for(browser.api, execution["id"])["status"] == "stopped"
    page = page_of(browser, here)
    assert node_status(page, "slow") == "stopped"
    assert ">Retry step<" in page and ">Rerun<" in page and ">Stop step<" not in page

    rerun = browser.submit(f"{here}/rerun")
    assert rerun.status_code == 303
    again = rerun.headers["location"].removeprefix("/executions/")
    assert again != execution["id"]
    wait_for(browser.api, again, step_is("slow", "running"))
    busy = browser.submit(f"/executions/{again}/delete", {"next": "/runs"})
    assert busy.status_code == 409  # an open run is stopped before it is deleted
    assert "stop it before deleting it" in busy.text
    assert (
        browser.submit(f"/executions/{again}/stop", {"next": "/runs"}).headers["location"]
        == "/runs"
    )
    assert wait_for(browser.api, again)["status"] == "stopped"

    for execution_id in (execution["id"], again):
        deleted = browser.submit(f"/executions/{execution_id}/delete", {"next": "/runs"})
        assert deleted.status_code == 303 and deleted.headers["location"] == "/runs"
        assert browser.get(f"/executions/{execution_id}").status_code == 404
    assert "No runs yet" in page_of(browser, "/runs")


def test_a_debug_run_is_stepped_from_its_page(browser: WebClient, tmp_path: Path) -> None:
    """A development debug run (``workflow.debug()``) shows its experiment and mode, and
    *Start next step* starts its held steps one by one; a step that needs a value says so."""
    workflow = chain(tool_dir(tmp_path), name="stepped")
    workflow.session = wf.Session(str(browser.base_url), token_of(browser.api))
    run = workflow.debug(experiment_id=f"trial {XSS}", emit=lambda _: None)
    here = f"/executions/{run.id}"
    page = page_of(browser, here)
    assert "debug run (each step starts on Next)" in page
    assert f"trial {XSS}" not in page and "trial &lt;script&gt;" in page
    assert '<span class="status paused" data-run-status>paused</span>' in page
    assert 'Start next step: <span class="mono">a</span>' in page
    for name in ("a", "b"):
        started = browser.submit(f"{here}/next")
        assert started.status_code == 303 and started.headers["location"] == here
        wait_for(browser.api, run.id, step_is(name, "succeeded"))
        wait_for(browser.api, run.id, lambda e: e["status"] == "paused")
    refused = browser.submit(f"{here}/next")
    assert refused.status_code == 409 and "needs a value for label" in refused.text
    workflow.set_placeholder("label", "from the page")
    workflow.next(emit=lambda _: None)
    done = page_of(browser, here)
    assert ">Start next step<" not in done and ">Rerun<" in done


def scored(code: Path) -> wf.Workflow:
    out = wf.data.OutputStorage(name="out")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    train = job("train", code, parameters={"score": score}, metrics=out.join("m/"))
    return wf.Workflow(name="scored", desc="", steps=[train], storages=[out])


def test_runs_filters_labels_and_a_comparison_that_marks_the_best(
    runtime: Runtime, browser: WebClient, tmp_path: Path
) -> None:
    workflow_id = imported(browser.api, scored(tool_dir(tmp_path)))
    high = wait_for(browser.api, start(browser.api, workflow_id, parameters={"score": 0.9})["id"])
    low = wait_for(browser.api, start(browser.api, workflow_id, parameters={"score": 0.2})["id"])
    assert high["status"] == low["status"] == "succeeded"

    runs = page_of(browser, "/runs")
    assert runs.index(f'href="/executions/{low["id"]}"') < runs.index(
        f'href="/executions/{high["id"]}"'
    )  # newest first
    assert f'name="ids" value="{high["id"]}"' in runs and 'form="compare"' in runs
    assert "No run matches" in page_of(browser, "/runs?status=failed")
    assert high["id"] in page_of(browser, "/runs?status=succeeded")
    bad = page_of(browser, "/runs?status=bogus", 422)
    assert "status must be one of" in text_of(bad, "f-status-error")

    labelled = browser.submit(
        f"/executions/{high['id']}/labels", {"labels": "best, keep", "next": "/runs"}
    )
    assert labelled.status_code == 303 and labelled.headers["location"] == "/runs"
    assert browser.api.get(f"/executions/{high['id']}").json()["labels"] == ["best", "keep"]
    only = page_of(browser, "/runs?label=best")
    assert high["id"] in only and low["id"] not in only
    refused = browser.submit(f"/executions/{low['id']}/labels", {"labels": "Not<ok>"})
    assert refused.status_code == 422
    assert "1-32 characters" in text_of(refused.text, f"labels-{low['id']}-error")
    assert "Not&lt;ok&gt;" in refused.text and "Not<ok>" not in refused.text

    compare = page_of(browser, f"/runs/compare?ids={high['id']},{low['id']}")
    best = re.findall(
        r'<td class="num best">([^<]*) <span class="best-mark">★ best</span>', compare
    )
    assert best == ["0.9"]  # score: the highest is best
    assert '<td class="num">0.2</td>' in compare
    assert "train.score" in compare and "(highest is best)" in compare
    assert "the lowest for metrics whose name contains" in compare  # the rule, in words
    assert "(differs)" in compare  # the parameter "score" differs between the runs
    ticked = browser.get("/runs/compare", params=[("ids", high["id"]), ("ids", low["id"])])
    assert ticked.status_code == 200 and ticked.text.count("★ best</span>") == 1
    assert "at least two runs" in page_of(browser, f"/runs/compare?ids={high['id']}", 422)
    assert browser.get("/runs/compare?ids=nope,nope2").status_code == 404

    other = web_user(runtime.gallery, "other")
    assert other.get(f"/runs/compare?ids={high['id']},{low['id']}").status_code == 404
    assert high["id"] not in page_of(other, "/runs")


SHOW = r"""
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--metrics")
args = parser.parse_args()
print("<script>alert('log')</script> & done", flush=True)
evil = "<script>alert(1)</script>"
pathlib.Path(args.metrics).mkdir(parents=True, exist_ok=True)
pathlib.Path(args.metrics, "metrics.json").write_text(json.dumps([
    {"key": "accuracy", "title": evil, "type": "float", "data": {"value": 0.75}},
    {"key": "curve" + evil, "title": "Curve " + evil, "type": "line chart",
     "data": {"x_axis": [{"title": evil, "value": [1, 2, 3]}],
              "y_axis": [{"title": "loss", "value": [0.9, 0.5, 0.4]}]}},
    {"key": "cm", "title": "Confusion", "type": "table",
     "data": {"cell_value": [[5, 1], [0, 7]],
              "row_labels": {"title": "actual", "value": [evil, "b"]},
              "col_labels": {"title": "predicted", "value": [evil, "b"]}}},
]))
"""


def test_log_lines_metric_names_and_outputs_are_shown_escaped(
    browser: WebClient, tmp_path: Path
) -> None:
    code = tmp_path / "show"
    code.mkdir()
    (code / "tool.py").write_text(SHOW)
    out = wf.data.OutputStorage(name="out")
    show = job("show", code, metrics=out.join("m/"))
    workflow_id = imported(
        browser.api, wf.Workflow(name="show", desc="", steps=[show], storages=[out])
    )
    execution = wait_for(browser.api, start(browser.api, workflow_id)["id"])
    assert execution["status"] == "succeeded", execution

    page = page_of(browser, f"/executions/{execution['id']}?step=show")
    assert "<script>" not in page.replace('<script src="/static/', "")
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt; &amp; done" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # metric title, series, labels
    assert '<svg class="chart-svg"' in page and '<table class="heat"' in page
    assert "0.75" in page
    download = f"/api/v1/executions/{execution['id']}/steps/show/outputs/metrics"
    assert f'href="{download}"' in page
    archive = browser.get(download)  # the API reads the session cookie on GET
    assert archive.status_code == 200
    assert archive.headers["x-output-kind"] == "directory"


def test_runs_are_found_by_label_in_the_database(gallery: Gallery, tmp_path: Path) -> None:
    """The label filter of ``GET /api/v1/executions`` and of /runs is in the query: a label
    is one of a run's words, and a labelled run is found past any number of newer ones (the
    limit applies to the runs that match)."""
    user = web_user(gallery, "labels")
    workflow_id = imported(user.api, scored(tool_dir(tmp_path)))
    old, best_run, kept, plain = record_runs(gallery, workflow_id, ["succeeded"] * 4)
    labelled = {old: ["best", "keep"], best_run: ["best_run"], kept: ["keep"]}
    for execution_id, labels in labelled.items():
        answer = user.api.patch(f"/executions/{execution_id}", json={"labels": labels})
        assert answer.status_code == 200, answer.text

    def found(**params: str | int) -> list[str]:
        answer = user.api.get("/executions", params=params)
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()]

    assert found() == [plain, kept, best_run, old]  # newest first
    assert found(label="best") == [old]
    assert found(label="best", limit=1) == [old]  # past three newer runs
    assert found(label="keep") == [kept, old]
    assert found(label="keep", workflow=workflow_id, status="succeeded") == [kept, old]
    assert found(label="best_run") == [best_run]
    assert found(label="bes") == [] and found(label="best run") == []
    assert user.api.get("/executions", params={"label": "x" * 33}).status_code == 422

    page = page_of(user, "/runs?label=best")
    assert f'href="/executions/{old}"' in page
    assert all(f'href="/executions/{other}"' not in page for other in (best_run, kept, plain))
    assert f'href="/executions/{old}"' in page_of(user, "/runs?label=+BEST+")  # stored lower case
    assert "No run matches these filters." in page_of(user, "/runs?label=nothing")


def test_pages_ask_to_sign_in_and_hide_what_is_not_yours(
    runtime: Runtime, browser: WebClient, tmp_path: Path
) -> None:
    workflow_id = imported(browser.api, scored(tool_dir(tmp_path)))
    execution = wait_for(browser.api, start(browser.api, workflow_id)["id"])
    here = f"/executions/{execution['id']}"
    anonymous = web_client(runtime.gallery)
    for path in ("/runs", "/todo", here, f"/runs/compare?ids={execution['id']}"):
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    assert browser.get("/executions/not-an-id").status_code == 404
    assert browser.get(f"{here}?step=nosuchstep").status_code == 404
    assert browser.submit(f"{here}/steps/bad%20name/stop").status_code == 404
    assert browser.submit(f"{here}/steps/nosuch/stop").status_code == 404
    other = web_user(runtime.gallery, "other")
    for path in (here, f"{here}?step=train"):
        assert other.get(path).status_code == 404
    for action in ("rerun", "delete", "labels", "stop"):
        assert other.submit(f"{here}/{action}", {"labels": "x"}).status_code == 404
    assert browser.get(here).status_code == 200  # nothing of it was changed


def test_records_without_steps_and_steps_outside_the_run(
    runtime: Runtime, browser: WebClient, tmp_path: Path
) -> None:
    """A run whose records hold no step yet (as a scene leaves out steps): the picture says
    each step is not in this run, and a step of the workflow outside the run says so."""
    workflow_id = imported(browser.api, scored(tool_dir(tmp_path)))
    [execution_id] = record_runs(runtime.gallery, workflow_id, ["failed"])
    page = page_of(browser, f"/executions/{execution_id}")
    assert node_status(page, "train") == "not_in_run"
    assert ">not in run</text>" in page and "This run has no steps." in page
    outside = page_of(browser, f"/executions/{execution_id}?step=train")
    assert "This step is not part of this run" in outside
    runs = page_of(browser, "/runs")
    assert f'href="/executions/{execution_id}"' in runs and ">Rerun<" in runs


TICKER = r"""
import sys, time
print("tick: started", flush=True)
time.sleep(3)
print("tick: <b>ready</b>", flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("events", [True, False], ids=["events", "polling"])
def test_the_open_page_follows_the_run_and_its_log_without_reloading(
    runtime: Runtime, browser: WebClient, tmp_path: Path, events: bool
) -> None:
    """A step that writes a line, waits, writes another, then runs until stopped: the open
    page's log reads on from where the page's copy ended (each line once, as text), and when
    the run is stopped (elsewhere) its statuses and buttons change without a reload: by
    server-sent events, or by polling when the browser has no EventSource."""
    missing = chromium_missing()
    if missing is not None:
        pytest.skip(missing)
    code = tmp_path / "ticker"
    code.mkdir()
    (code / "tool.py").write_text(TICKER)
    workflow_id = imported(
        browser.api, wf.Workflow(name="ticker", desc="", steps=[job("tick", code)])
    )
    with chromium() as chrome:
        context = chrome.new_context(base_url=runtime.gallery.base_url)
        context.add_cookies(
            [
                {"name": name, "value": value, "url": runtime.gallery.base_url}
                for name, value in browser.cookies.items()
            ]
        )
        if not events:
            context.add_init_script("delete window.EventSource;")
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        dialogs = Dialogs()
        dialogs.watch(page)
        execution = start(browser.api, workflow_id)
        wait_for(browser.api, execution["id"], step_is("tick", "running"))
        page.goto(f"/executions/{execution['id']}")
        node = page.locator('svg.dag g.node[data-step="tick"]')
        assert node.get_attribute("data-status") == "running"
        expect(page.locator("#log")).to_contain_text("tick: <b>ready</b>", timeout=30_000)
        log = page.locator("#log").text_content() or ""
        assert log.count("tick: started") == 1 and log.count("tick: <b>ready</b>") == 1
        assert page.locator("#log b").count() == 0  # appended as text
        assert node.get_attribute("data-status") == "running"  # it sleeps until stopped
        page.evaluate("window.stillThisPage = true")
        assert browser.api.post(f"/executions/{execution['id']}/stop").status_code == 200
        expect(node).to_have_attribute("data-status", "stopped", timeout=30_000)
        expect(page.locator("[data-run-status]")).to_have_text("stopped", timeout=30_000)
        expect(node.locator(".node-status")).to_have_text("stopped")
        expect(page.get_by_role("button", name="Rerun")).to_be_visible()  # the header, again
        assert page.evaluate("window.stillThisPage") is True  # no reload
        streamed = [url for url in asked if url.endswith(f"{execution['id']}/events")]
        polled = [url for url in asked if url.endswith(f"/api/v1/executions/{execution['id']}")]
        assert (bool(streamed), bool(polled)) == (events, not events)
        assert any("/steps/tick/logs?offset=" in url for url in asked)  # the live tail
        assert dialogs.seen == []
        context.close()
    assert wait_for(browser.api, execution["id"])["status"] == "stopped"


def test_compare_rule_lowest_for_losses_and_errors() -> None:
    assert lower_is_better("train.loss") and lower_is_better("eval.val_loss")
    assert lower_is_better("eval.error_rate") and lower_is_better("fit.rmse")
    assert lower_is_better("eval.trainloss")
    assert not lower_is_better("eval.accuracy") and not lower_is_better("eval.f1")
    assert not lower_is_better("loss.accuracy")  # the step's name does not count
    rows = [
        CompareRow(
            id=str(i),
            name=f"execution-00{i}",
            workflow_id="w",
            workflow_name="w",
            status="succeeded",
            started_at=None,
            duration_seconds=None,
            parameters={"lr": lr},
            metrics=metrics,
        )
        for i, lr, metrics in (
            (1, 0.1, {"t.loss": 0.3, "t.acc": 0.8}),
            (2, 0.1, {"t.loss": 0.2, "t.acc": 0.8}),
            (3, 0.2, {"t.acc": 0.7}),
        )
    ]
    parameters, metrics = compare_lines(rows)
    assert [(p.name, p.differs) for p in parameters] == [("lr", True)]
    by_name = {m.name: m for m in metrics}
    assert [c.best for c in by_name["t.loss"].cells] == [False, True, False]
    assert by_name["t.loss"].rule == "lowest" and by_name["t.acc"].rule == "highest"
    assert [c.best for c in by_name["t.acc"].cells] == [True, True, False]  # a tie: both
    assert [c.text for c in by_name["t.loss"].cells] == ["0.3", "0.2", "—"]


def test_form_values_are_read_as_the_placeholders_types() -> None:
    placeholders = [
        ir.PlaceholderSpec(name="n", type="int"),
        ir.PlaceholderSpec(name="x", type="float"),
        ir.PlaceholderSpec(name="b", type="bool"),
        ir.PlaceholderSpec(name="e", type="enum", enum_list=[1, "1"]),
        ir.PlaceholderSpec(name="j", type="json"),
        ir.PlaceholderSpec(name="l", type="list"),
        ir.PlaceholderSpec(name="s", type="str"),
    ]
    form = {"n": "3", "x": "0.5", "b": "true", "e": "1", "j": '{"a": [1]}', "l": "a\nb", "s": ""}
    values, errors = forms.read_values(placeholders, form, "inputs")
    assert errors == []
    assert values == {
        "n": 3,
        "x": 0.5,
        "b": True,
        "e": 1,
        "j": {"a": [1]},
        "l": ["a", "b"],
        "s": "",
    }
    assert forms.read_values(placeholders, {"e": '"1"'}, "p")[0] == {"e": "1"}
    lenient, _ = forms.read_values(placeholders, {"n": "1.5", "x": "nan", "b": "false"}, "p")
    assert lenient == {"n": "1.5", "x": "nan", "b": False}  # the registry names the rule
    assert forms.read_values(placeholders, {"n": "", "j": " "}, "p")[0] == {}
    _, broken = forms.read_values(placeholders, {"j": "{oops"}, "inputs")
    assert [(e.field, e.rule) for e in broken] == [("inputs.j", "json")]
    assert forms.changed({"n": 3, "b": False, "x": 1}, {"n": 3, "b": 0, "x": 1.0}) == {"b": False}
