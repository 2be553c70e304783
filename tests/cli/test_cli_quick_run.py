"""``gallery run CONTENT_ID[@VERSION]``: a catalog asset run in one call, beside ``gallery run
WORKFLOW``, against a real server, Temporal dev server and worker (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Runtime
from tests.support.cli import Result, Shell, shell_for
from tests.support.gallery import new_asset, publish, workflow_manifest
from tests.support.runner import wait_for


@pytest.fixture
def shell_of(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[[httpx.Client], Shell]:
    return shell_for(runtime.gallery.base_url, monkeypatch, capsys, tmp_path / "config")


def workflow_asset(client: httpx.Client, placeholders: list[dict[str, Any]]) -> dict[str, Any]:
    """A published workflow asset (one condition step: no sandbox needed) with these
    placeholders."""
    asset = new_asset(client, kind="workflow")
    manifest = workflow_manifest()
    manifest["spec"]["placeholders"] = placeholders
    answer = publish(client, asset["content_id"], manifest)
    assert answer.status_code == 201, answer.text
    return asset


def started(result: Result) -> str:
    """The id of the execution ``gallery run`` says it started."""
    assert result.code == 0, result
    found = re.search(r"^started \S+/execution-\d{3} \(id ([0-9a-f-]{36})\)$", result.out, re.M)
    assert found, result.out
    return found.group(1)


def one_error_line(result: Result, *fragments: str) -> None:
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_an_asset_runs_in_one_call_then_its_workflow_is_reused(
    runtime: Runtime, shell_of: Callable[[httpx.Client], Shell]
) -> None:
    client = runtime.gallery.user("cli")
    asset = workflow_asset(client, [{"name": "epochs", "type": "int", "default": 3}])
    content_id, name = asset["content_id"], asset["name"]
    gallery = shell_of(client)

    first = gallery("run", content_id, "--follow")
    lines = first.out.splitlines()
    assert re.fullmatch(
        rf"imported {content_id}@1\.0\.0 as default/{name} \(new; workflow id [0-9a-f-]{{36}}\)",
        lines[0],
    ), first.out
    assert lines[1].startswith(f"started {name}/execution-001 (id ")
    assert first.code == 0 and "succeeded" in first.out, first

    # Again, pinned to the version, with a typed value: the same workflow, a second run.
    again = gallery("run", f"{content_id}@1.0.0", "-p", "epochs=4")
    assert again.out.startswith(f"using {content_id}@1.0.0 as default/{name} (imported before;")
    execution = wait_for(client, started(again))
    assert execution["name"] == "execution-002" and execution["parameters"] == {"epochs": 4}
    assert len(client.get("/workspaces/default/workflows").json()) == 1

    # Its workflow, by name or id, still runs as ever (a workflow of yours comes first).
    by_name = wait_for(client, started(gallery("run", name)))
    assert by_name["name"] == "execution-003" and by_name["parameters"] == {"epochs": 3}
    workflow_id = by_name["workflow_id"]
    assert wait_for(client, started(gallery("run", workflow_id)))["name"] == "execution-004"


def test_missing_values_are_named_with_how_to_give_them(
    runtime: Runtime, shell_of: Callable[[httpx.Client], Shell]
) -> None:
    client = runtime.gallery.user("cli")
    placeholders = [
        {"name": "epochs", "type": "int"},
        {"name": "mode", "type": "enum", "enum_list": ["a", "b"]},
    ]
    asset = workflow_asset(client, placeholders)
    content_id = asset["content_id"]
    gallery = shell_of(client)

    needy = gallery("run", content_id, "--name", "needy")
    assert needy.code == 1, needy
    assert needy.out.startswith(f"imported {content_id}@1.0.0 as default/needy (new;")
    workflow_id = client.get("/workspaces/default/workflows").json()[0]["id"]
    assert "needs a value for epochs, mode" in needy.err
    assert f"gallery config {workflow_id} -p epochs=VALUE -p mode=VALUE" in needy.err
    assert client.get(f"/workflows/{workflow_id}/executions").json() == []

    # As it says: save one, give the other now.
    saved = gallery("config", workflow_id, "-p", "mode=b")
    assert saved.code == 0, saved
    execution = wait_for(client, started(gallery("run", content_id, "-p", "epochs=2")))
    assert execution["parameters"] == {"epochs": 2, "mode": "b"}


def test_what_cannot_run_is_one_clear_line(
    runtime: Runtime, shell_of: Callable[[httpx.Client], Shell]
) -> None:
    client = runtime.gallery.user("cli")
    asset = workflow_asset(client, [{"name": "epochs", "type": "int", "default": 1}])
    content_id = asset["content_id"]
    gallery = shell_of(client)
    unknown = str(uuid.uuid4())
    one_error_line(gallery("run", unknown), "neither one of your workflows", unknown)
    one_error_line(gallery("run", f"{unknown}@1.0.0"), "no asset")
    one_error_line(gallery("run", f"{content_id}@9.9.9"), "no version '9.9.9'")
    one_error_line(gallery("run", content_id, "-p", "epochs=many"), "epochs", "not an integer")
    one_error_line(gallery("run", content_id, "-p", "nope=1"), "no placeholder 'nope'")
    one_error_line(gallery("run", content_id, "--scene", "x"), "--scene")
    one_error_line(gallery("run", "no_such_workflow"), "no workflow named 'no_such_workflow'")
    # Someone else's private asset is as unknown as a missing one.
    other = shell_of(runtime.gallery.user("other"))
    one_error_line(other("run", content_id), "neither one of your workflows")
    assert client.get("/workspaces/default/workflows").json() == []
