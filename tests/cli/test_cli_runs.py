"""``gallery executions|label|rerun|compare|todo|outputs``, and executions named
``WORKFLOW/execution-NNN`` or ``execution-NNN`` by every verb, on a real ``gallery up``
(web app, Temporal dev server and worker) with real sandboxed job steps."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import sdk as wf
from sdk.cli import main
from tests.cli.test_cli import gallery_up
from tests.runner.flows import imported, job, shared_import, start, tool_dir
from tests.support.cli import Result, Shell, shell_for
from tests.support.gallery import Gallery, fast_settings
from tests.support.runner import step_is, wait_for

# Its own `gallery up`, on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("gallery-up-runs")


Cli = Shell


@dataclass
class Trained:
    """alice's workflow ``train`` (released by carol), run twice: score 0.25, then 0.75."""

    gallery: Gallery
    alice: httpx.Client
    workflow_id: str
    first: str
    second: str


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gallery]:
    data = tmp_path_factory.mktemp("up-runs")
    with gallery_up(data) as run:
        yield Gallery(run.url, fast_settings(data_dir=data), "sqlite", run.password)


def train_workflow(code: Path) -> wf.Workflow:
    out = wf.data.OutputStorage(name="out")
    label = wf.Placeholder(name="label", placeholder_type=wf.PlaceholderType.STR, default="a")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    fit = job(
        "fit",
        code,
        parameters={"label": label, "score": score},
        out=out.join("model/"),
        metrics=out.join("metrics/"),
    )
    return wf.Workflow(name="train", desc="", steps=[fit], storages=[out])


@pytest.fixture(scope="module")
def trained(up: Gallery, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    carol, alice = up.user("carol"), up.user("alice")
    code = tool_dir(tmp_path_factory.mktemp("tool"))
    _, workflow = shared_import(carol, alice, train_workflow(code), visibility="public")
    alice.patch(f"/workflows/{workflow['id']}", json={"name": "train"}).raise_for_status()
    ids = []
    for parameters in ({"score": 0.25}, {"score": 0.75, "label": "b"}):
        execution = start(alice, workflow["id"], parameters=parameters)
        assert wait_for(alice, execution["id"])["status"] == "succeeded"
        ids.append(execution["id"])
    return Trained(up, alice, workflow["id"], ids[0], ids[1])


@pytest.fixture
def cli(
    up: Gallery,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[[httpx.Client], Cli]:
    """``gallery ARGS…`` in-process as a user: exit code, stdout, stderr."""
    return shell_for(up.base_url, monkeypatch, capsys, tmp_path / "config")


def error_line(result: Result, *fragments: str) -> str:
    """The one ``error: …`` line of a failed command (exit 1)."""
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def rows(out: str, first: str) -> list[list[str]]:
    """The table lines of ``out`` that start with ``first``, split on runs of 2+ spaces."""
    lines = [line.strip() for line in out.splitlines() if line.startswith(first)]
    return [re.split(r"\s{2,}", line) for line in lines]


# --- executions, label, compare, rerun, status/logs by name ------------------------------------


def test_executions_are_listed_labelled_compared_and_rerun_by_name(
    trained: Trained, cli: Callable[[httpx.Client], Cli]
) -> None:
    gallery = cli(trained.alice)

    listed = gallery("executions", "train")
    assert listed.code == 0, listed.err
    table = rows(listed.out, "train/")
    assert [r[0] for r in table] == ["train/execution-002", "train/execution-001"]
    assert all(r[1] == "succeeded" and r[2] == "-" and r[-1] == "-" for r in table), table
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", table[0][3]), table
    assert listed.out.splitlines()[0].split() == [
        "EXECUTION",
        "STATUS",
        "CURRENT",
        "STEP",
        "STARTED",
        "DURATION",
        "LABELS",
    ]
    assert "2 executions of default/train" in listed.out

    labelled = gallery("label", "train/execution-001", "+best", "+baseline")
    assert labelled.code == 0, labelled.err
    assert labelled.out.strip() == "train/execution-001: labels best, baseline"
    # alice has one workflow: the short name is unambiguous
    removed = gallery("label", "execution-001", "-baseline")
    assert removed.out.strip() == "train/execution-001: labels best", removed.err
    assert gallery("label", trained.first).out.strip() == "train/execution-001: labels best"
    error_line(gallery("label", "execution-001", "+no/slash"), "'no/slash'", "HTTP 422")
    assert gallery("label", "execution-001", "+Upper", "-UPPER").out.endswith("labels best\n")
    error_line(gallery("label", "execution-001", "+"), "give +LABEL or -LABEL")

    best = gallery("executions", "train", "--label", "best")
    assert "1 execution of default/train" in best.out
    assert [r[0] for r in rows(best.out, "train/")] == ["train/execution-001"]
    assert rows(best.out, "train/")[0][-1] == "best"
    failed = gallery("executions", trained.workflow_id, "--status", "failed")
    assert failed.code == 0 and "0 executions of default/train" in failed.out
    as_json = json.loads(gallery("executions", "train", "--json").out)
    assert [e["name"] for e in as_json] == ["execution-002", "execution-001"]
    assert {e["workflow_name"] for e in as_json} == {"train"}
    assert as_json[0]["current_step"] is None and as_json[0]["workspace"] == "default"

    compared = gallery("compare", "train/execution-001", "execution-002")
    assert compared.code == 0, compared.err
    header = compared.out.splitlines()[0].split()
    assert header == ["train/execution-001", "train/execution-002"]
    assert rows(compared.out, "score") == [["score", "0.25", "0.75"]]
    assert rows(compared.out, "label") == [["label", "a", "b"]]
    assert rows(compared.out, "fit.score") == [["fit.score", "0.25", "0.75"]]
    assert rows(compared.out, "status") == [["status", "succeeded", "succeeded"]]
    raw = json.loads(gallery("compare", trained.first, trained.second, "--json").out)
    assert [r["metrics"]["fit.score"] for r in raw] == [0.25, 0.75]

    again = gallery("rerun", "train/execution-001", "--follow")
    assert again.code == 0, again.err
    assert "started train/execution-003 as a rerun of train/execution-001" in again.out
    assert "train/execution-003: succeeded" in again.out
    third = re.search(r"\(execution id ([0-9a-f-]{36})\)", again.out)
    assert third, again.out
    made = trained.alice.get(f"/executions/{third.group(1)}").json()
    assert made["parameters"]["score"] == 0.25 and made["labels"] == ["best"]

    # the run-loop verbs take the same names
    shown = gallery("status", "train/execution-003")
    assert shown.code == 0 and "train/execution-003: succeeded" in shown.out
    assert gallery("status", "default/train/execution-003").code == 0
    assert gallery("status", f"{trained.workflow_id}/execution-003").code == 0
    assert gallery("status", "execution-3").code == 0
    log = gallery("logs", "execution-003", "fit")
    assert log.code == 0 and "tool: label=a score=0.25" in log.out, log.err
    error_line(gallery("retry", "train/execution-003", "fit"), "succeeded")
    error_line(gallery("continue", "execution-003", "fit", "--input", "score=1"), "not waiting")
    error_line(gallery("stop", "train/execution-003"), "already succeeded")


def test_outputs_are_downloaded(
    trained: Trained, cli: Callable[[httpx.Client], Cli], tmp_path: Path
) -> None:
    gallery = cli(trained.alice)

    everything = gallery("outputs", "train/execution-002", "fit", "--to", str(tmp_path / "all"))
    assert everything.code == 0, everything.err
    assert "downloading the outputs of step 'fit' of train/execution-002" in everything.out
    assert "saved 2 files" in everything.out
    found = (tmp_path / "all").rglob("*")
    saved = sorted(p.relative_to(tmp_path / "all").as_posix() for p in found if p.is_file())
    assert saved == ["metrics/metrics.json", "out/value.txt"]
    assert (tmp_path / "all" / "out" / "value.txt").read_text() == "b"
    metrics = json.loads((tmp_path / "all" / "metrics" / "metrics.json").read_text())
    assert metrics[0]["data"]["value"] == 0.75

    one = gallery("outputs", "execution-001", "fit", "out", "--to", str(tmp_path / "one"))
    assert one.code == 0, one.err
    assert [p.name for p in (tmp_path / "one").rglob("*") if p.is_file()] == ["value.txt"]
    assert "saved 1 file (1 B)" in one.out
    assert (tmp_path / "one" / "out" / "value.txt").read_text() == "a"

    file = gallery(
        "outputs", trained.first, "fit", "metrics/metrics.json", "--to", str(tmp_path / "f")
    )
    assert file.code == 0, file.err
    assert f"saved {tmp_path / 'f' / 'metrics' / 'metrics.json'}" in file.out
    assert json.loads((tmp_path / "f" / "metrics" / "metrics.json").read_text())[0]["key"] == (
        "score"
    )

    error_line(gallery("outputs", "execution-001", "fit", "nope"), "no output 'nope'", "404")
    error_line(gallery("outputs", "execution-001", "fit", "out/none.txt"), "nothing is stored")
    error_line(gallery("outputs", "execution-001", "fit", "out/../../x"), "'..'")
    error_line(gallery("outputs", "execution-001", "fit", "/etc/passwd"), "absolute")
    error_line(gallery("outputs", "execution-001", "ghost"), "has no step 'ghost'")


def test_outputs_endpoint_streams_a_real_steps_files(trained: Trained) -> None:
    base = f"/executions/{trained.second}/steps/fit/outputs"
    answer = trained.alice.get(base + "/out/value.txt")
    assert answer.status_code == 200 and answer.content == b"b"
    assert answer.headers["x-output-kind"] == "file"
    archive = trained.alice.get(base)
    assert archive.headers["x-output-kind"] == "directory"
    assert archive.headers["x-output-files"] == "2"


# --- the to-do list and ambiguous names ----------------------------------------------------------


def test_todo_lists_waiting_steps_with_a_command_that_continues_them(
    up: Gallery, cli: Callable[[httpx.Client], Cli], tmp_path: Path
) -> None:
    dana = up.user("dana")
    gallery = cli(dana)
    code = tool_dir(tmp_path)
    score = wf.Placeholder(
        name="score", placeholder_type=wf.PlaceholderType.FLOAT, delay=True, description="x"
    )
    ask = job("ask", code, parameters={"score": score})
    asking = imported(dana, wf.Workflow(name="asking", steps=[ask]), "asking")
    quick = imported(dana, wf.Workflow(name="quick", steps=[job("only", code)]), "quick")

    assert gallery("todo").out.strip() == "nothing waits for your input"
    done = start(dana, quick)
    assert wait_for(dana, done["id"])["status"] == "succeeded"
    waiting = start(dana, asking)
    wait_for(dana, waiting["id"], step_is("ask", "waiting_input"))

    todo = gallery("todo")
    assert todo.code == 0, todo.err
    assert rows(todo.out, "asking/") == [
        [
            "asking/execution-001",
            "ask",
            "score (float)",
            "gallery continue asking/execution-001 ask --input score=FLOAT",
        ]
    ]
    items = json.loads(gallery("todo", "--json").out)
    assert [(i["workflow_name"], i["step"]) for i in items] == [("asking", "ask")]
    listed = json.loads(gallery("executions", "asking", "--json").out)
    assert listed[0]["status"] == "waiting_input" and listed[0]["current_step"] == "ask"
    assert rows(gallery("executions", "asking").out, "asking/")[0][:3] == [
        "asking/execution-001",
        "waiting_input",
        "ask",
    ]

    # two of dana's workflows have an execution-001
    ambiguous = error_line(gallery("status", "execution-001"), "'execution-001' is ambiguous")
    assert "asking/execution-001" in ambiguous and "quick/execution-001" in ambiguous
    for verb in (("logs", "execution-1", "ask"), ("outputs", "execution-001", "ask")):
        error_line(gallery(*verb), "is ambiguous", "asking/execution-001", "quick/execution-001")

    given = gallery("continue", "asking/execution-001", "ask", "--input", "score=0.5", "--follow")
    assert given.code == 0, given.err
    assert "asking/execution-001: succeeded" in given.out
    assert gallery("todo").out.strip() == "nothing waits for your input"
    assert json.loads(gallery("todo", "--json").out) == []


# --- what a user may not see, and malformed names --------------------------------------------


def test_another_users_execution_is_as_unknown_as_a_missing_one(
    trained: Trained, cli: Callable[[httpx.Client], Cli], tmp_path: Path
) -> None:
    bob = trained.gallery.user("bob")
    gallery = cli(bob)
    ghost = str(uuid.uuid4())
    by_id = [
        ("status", "{}"),
        ("status", "{}", "--follow"),
        ("logs", "{}", "fit"),
        ("label", "{}", "+mine"),
        ("rerun", "{}"),
        ("compare", "{}"),
        ("outputs", "{}", "fit", "--to", str(tmp_path)),
        ("stop", "{}"),
        ("retry", "{}", "fit"),
        ("continue", "{}", "fit"),
    ]
    for verb in by_id:
        theirs = error_line(gallery(*(a.format(trained.first) for a in verb)))
        missing = error_line(gallery(*(a.format(ghost) for a in verb)))
        assert theirs.replace(trained.first, ghost) == missing, verb
        assert missing == f"error: no execution '{ghost}' (HTTP 404)", verb
    for verb in (("status", "{}"), ("outputs", "{}", "fit"), ("label", "{}", "-best")):
        for ref in ("train/execution-001", "execution-001"):
            theirs = error_line(gallery(*(a.format(ref) for a in verb)))
            assert theirs == f"error: no execution {ref!r}", verb
        missing = error_line(gallery(*(a.format("nosuch/execution-001") for a in verb)))
        assert missing == "error: no execution 'nosuch/execution-001'"
    assert not list(tmp_path.iterdir())  # nothing was downloaded
    answer = bob.get("/executions", params={"name": "execution-001", "workflow": "train"})
    assert answer.status_code == 200 and answer.json() == []
    assert bob.get(f"/workflows/{trained.workflow_id}/executions").status_code == 404


def test_malformed_names_are_one_line_errors(
    trained: Trained, cli: Callable[[httpx.Client], Cli]
) -> None:
    gallery = cli(trained.alice)
    for ref in ("train/run-1", "a/b/c/execution-001", "/execution-001", "train/", "execution-"):
        error_line(gallery("status", ref), "is not an execution", "WORKFLOW/execution-NNN")
    error_line(gallery("executions", "nosuch"), "no workflow named 'nosuch'")
    error_line(gallery("compare", "train/execution-001", "nosuch/execution-001"), "nosuch")
    bad = trained.alice.get("/executions", params={"name": "run-1"})
    assert bad.status_code == 422 and "execution-002" in bad.json()["detail"]
    huge = trained.alice.get("/executions", params={"name": "execution-" + "9" * 20})
    assert huge.status_code in (400, 422)
    assert trained.alice.get("/executions", params={"limit": 0}).status_code == 422
    found = trained.alice.get("/executions", params={"name": "execution-002", "workflow": "train"})
    assert [e["id"] for e in found.json()] == [trained.second]


def test_verbs_have_help_with_their_prog_name(cli: Callable[[httpx.Client], Cli]) -> None:
    gallery = cli(httpx.Client(headers={"Authorization": "Bearer none"}))
    for verb in ("executions", "label", "rerun", "compare", "todo", "outputs"):
        with pytest.raises(SystemExit) as ended:
            main([verb, "--help"])
        assert ended.value.code == 0
    listing = gallery("--help")
    for verb in ("executions", "label", "rerun", "compare", "todo", "outputs"):
        assert re.search(rf"^\s+{verb}\s+\S", listing.out, re.M), listing.out
