"""``gallery workflows|config|copy|rename|delete|tag`` against a real server (SQLite and
PostgreSQL), run in-process as one signed-in user or another."""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.flows import job, shared_import, tool_dir
from tests.support.cli import Result, Shell, shell_for
from tests.support.executions import record_runs
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest

pytestmark = pytest.mark.xdist_group("cli-workflows")


@pytest.fixture
def shell_of(
    gallery: Gallery,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[[httpx.Client], Shell]:
    """``gallery ARGS…`` in-process as a given user: exit code, stdout, stderr."""
    return shell_for(gallery.base_url, monkeypatch, capsys, tmp_path / "config")


def one_error_line(result: Result, *fragments: str) -> str:
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def configurable(client: httpx.Client) -> str:
    """A published workflow asset with typed placeholders, an output storage and a scene."""
    content_id = new_asset(client, kind="workflow")["content_id"]
    manifest = workflow_manifest()
    manifest["spec"]["placeholders"] = [
        {"name": "epochs", "type": "int", "default": 10, "description": "passes over the data"},
        {"name": "rate", "type": "float", "required": False},
        {"name": "mode", "type": "enum", "enum_list": ["fast", "slow"], "default": "fast"},
        {"name": "verbose", "type": "bool", "default": False},
        {"name": "answer", "type": "int", "delay": True},
    ]
    manifest["spec"]["storages"] = [{"name": "out", "kind": "output"}]
    manifest["spec"]["scenes"] = [{"name": "only_check", "steps": ["check"]}]
    answer = publish(client, content_id, manifest)
    assert answer.status_code == 201, answer.text
    return content_id


def imported(client: httpx.Client, content_id: str, name: str) -> dict[str, Any]:
    made = client.post(
        "/workspaces/default/workflows", json={"content_id": content_id, "name": name}
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def read(client: httpx.Client, workflow_id: str) -> dict[str, Any]:
    answer = client.get(f"/workflows/{workflow_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def row_of(out: str, name: str) -> list[str]:
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == name:
            return cells
    raise AssertionError(f"no row {name!r} in:\n{out}")


# --- gallery workflows -------------------------------------------------------------------------


def test_workflows_lists_source_latest_status_and_tags(
    gallery: Gallery, shell_of: Callable[[httpx.Client], Shell]
) -> None:
    user = gallery.user("list")
    gallery_ = shell_of(user)
    content_id = configurable(user)
    ran = imported(user, content_id, "ran")
    idle = imported(user, content_id, "idle")
    user.patch(f"/workflows/{ran['id']}", json={"tags": ["vision", "demo"]})
    record_runs(gallery, ran["id"], ["failed", "succeeded"])

    listed = gallery_("workflows")
    assert listed.code == 0, listed.err
    assert listed.out.splitlines()[0].split() == [
        "NAME",
        "SOURCE",
        "STATUS",
        "LATEST",
        "RUN",
        "TAGS",
        "ID",
    ]
    assert row_of(listed.out, "ran") == [
        "ran",
        f"{content_id}@1.0.0",
        "succeeded",
        "execution-002",
        "vision, demo",
        ran["id"],
    ]
    assert row_of(listed.out, "idle")[2:] == ["never run", "-", "-", idle["id"]]
    assert "2 workflows in default" in listed.out

    succeeded = gallery_("workflows", "--status", "succeeded")
    assert "ran" in succeeded.out and "idle" not in succeeded.out, succeeded.out
    never = gallery_("workflows", "--status", "none")
    assert "idle" in never.out and "ran " not in never.out, never.out
    tagged = gallery_("workflows", "--tag", "Vision")
    assert "ran" in tagged.out and "idle" not in tagged.out, tagged.out
    by_name = gallery_("workflows", "dl")
    assert [line.split()[0] for line in by_name.out.splitlines()[1:-1]] == ["idle"]
    nothing = gallery_("workflows", "--status", "failed")  # only the latest run counts
    assert (
        nothing.code == 0 and "no workflows in workspace 'default' (status=failed)" in nothing.out
    )

    as_json = gallery_("workflows", "--json")
    assert as_json.code == 0
    rows = json.loads(as_json.out)
    assert {r["name"] for r in rows} == {"ran", "idle"}
    assert all("spec" not in r and "config" not in r for r in rows)

    one_error_line(gallery_("workflows", "--status", "bogus"), "status must be one of", "422")
    one_error_line(gallery_("workflows", "--tag", "two words"), "tag", "422")
    one_error_line(gallery_("workflows", "--workspace", "nope"), "no workspace 'nope'", "404")


# --- gallery config ----------------------------------------------------------------------------


def test_config_shows_and_saves_typed_values(
    gallery: Gallery, shell_of: Callable[[httpx.Client], Shell]
) -> None:
    user = gallery.user("conf")
    gallery_ = shell_of(user)
    workflow = imported(user, configurable(user), "tuned")
    space = f"/{user.username}/default/"

    shown = gallery_("config", "tuned")
    assert shown.code == 0, shown.err
    assert f"workflow default/tuned (id {workflow['id']})" in shown.out
    assert row_of(shown.out, "epochs")[:4] == ["epochs", "int", "10", "-"]
    assert "passes over the data" in row_of(shown.out, "epochs")[4]
    assert row_of(shown.out, "mode")[:3] == ["mode", "enum: fast | slow", "fast"]
    assert "asked for while running" in row_of(shown.out, "answer")[-1]
    assert row_of(shown.out, "out") == ["out", "output", "- (not set)"]
    assert "scene: none (runs every step)" in shown.out
    assert "other scenes: only_check" in shown.out

    saved = gallery_(
        "config",
        workflow["id"],
        "--param",
        "epochs=5",
        "-p",
        "rate=0.25",
        "-p",
        "verbose=yes",
        "--storage",
        f"out={space}results/",
        "--scene",
        "only_check",
    )
    assert saved.code == 0, saved.err
    assert "saved the configuration of default/tuned" in saved.out
    assert row_of(saved.out, "epochs")[:4] == ["epochs", "int", "10", "5"]
    assert "scene: only_check (runs check)" in saved.out
    config = read(user, workflow["id"])["config"]
    assert config == {
        "placeholders": {"epochs": 5, "rate": 0.25, "verbose": True},
        "storages": {"out": f"{space}results/"},
        "scene": "only_check",
    }

    # Another change keeps what it does not name; --unset and --no-scene take values back.
    again = gallery_("config", "tuned", "-p", "mode=slow", "--unset", "rate", "--no-scene")
    assert again.code == 0, again.err
    config = read(user, workflow["id"])["config"]
    assert config["placeholders"] == {"epochs": 5, "verbose": True, "mode": "slow"}
    assert config["storages"] == {"out": f"{space}results/"} and config["scene"] is None

    as_json = gallery_("config", "tuned", "--json")
    assert json.loads(as_json.out)["config"] == config

    # Typed on this side, as `gallery run` types them: nothing reaches the server.
    one_error_line(gallery_("config", "tuned", "-p", "epochs=many"), "'epochs'", "'many'")
    one_error_line(gallery_("config", "tuned", "-p", "mode=medium"), "'mode'", "fast")
    one_error_line(gallery_("config", "tuned", "-p", "nope=1"), "no placeholder 'nope'")
    one_error_line(gallery_("config", "tuned", "-p", "epochs"), "NAME=VALUE")
    one_error_line(gallery_("config", "tuned", "--storage", "out"), "NAME=VALUE")
    one_error_line(gallery_("config", "tuned", "--unset", "nope"), "no parameter or storage")
    # Refused by the server: each field on a line of its own, named as the option.
    refused = gallery_(
        "config",
        "tuned",
        "--storage",
        "out=/elsewhere/results/",
        "--storage",
        "spare=/x/y/",
        "--scene",
        "everything",
    )
    assert refused.code == 1, refused
    lines = refused.err.strip().splitlines()
    assert lines[0] == (
        "error: the configuration of default/tuned was refused; nothing was saved:"
    ), refused.err
    assert any(line.startswith("  --storage spare: no storage 'spare'") for line in lines), lines
    assert any(line.startswith("  --scene: no scene 'everything'") for line in lines), lines
    outside = gallery_("config", "tuned", "--storage", "out=/elsewhere/results/")
    assert outside.code == 1
    assert outside.err.splitlines()[1].startswith("  --storage out: "), outside.err
    assert read(user, workflow["id"])["config"] == config

    one_error_line(gallery_("config", "missing"), "workspace 'default' has no workflow named")


# --- copy, rename, tag, delete -----------------------------------------------------------------


class Terminal(io.StringIO):
    """Standard input that says it is a terminal (the user types ``text``)."""

    def isatty(self) -> bool:
        return True


def test_copy_rename_tag_and_delete(
    gallery: Gallery,
    shell_of: Callable[[httpx.Client], Shell],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = gallery.user("edit")
    gallery_ = shell_of(user)
    workflow = imported(user, configurable(user), "base")
    assert user.put(
        f"/workflows/{workflow['id']}/config", json={"placeholders": {"epochs": 3}}
    ).is_success

    copied = gallery_("copy", "base", "twin")
    assert copied.code == 0, copied.err
    assert copied.out.startswith("copied default/base to default/twin (workflow id ")
    assert gallery_("copy", "base").out.startswith("copied default/base to default/base_copy")
    twin = json.loads(gallery_("copy", "twin", "triplet", "--json").out)
    assert twin["name"] == "triplet" and twin["config"]["placeholders"] == {"epochs": 3}
    one_error_line(gallery_("copy", "base", "twin"), "already has a workflow named 'twin'", "409")
    one_error_line(gallery_("copy", "base", "9lives"), "name", "422")

    renamed = gallery_("rename", "twin", "second")
    assert renamed.code == 0 and renamed.out.strip() == "renamed default/twin to default/second"
    one_error_line(gallery_("rename", "second", "base"), "already has a workflow 'base'", "409")
    one_error_line(gallery_("rename", "second", "bad name"), "name", "422")
    one_error_line(gallery_("rename", "twin", "third"), "has no workflow named 'twin'")

    tagged = gallery_("tag", "base", "+Vision", "+demo", "extra")
    assert tagged.code == 0, tagged.err
    assert tagged.out.strip() == "default/base: vision, demo, extra"
    assert gallery_("tag", "base", "-demo", "-absent").out.strip() == "default/base: vision, extra"
    assert gallery_("tag", workflow["id"]).out.strip() == "default/base: vision, extra"
    assert gallery_("tag", "base", "--", "-extra", "+w").out.strip() == "default/base: vision, w"
    assert read(user, workflow["id"])["tags"] == ["vision", "w"]
    one_error_line(gallery_("tag", "base", "+bad/tag"), "tag", "422")
    one_error_line(gallery_("tag", "nothing", "+x"), "has no workflow named 'nothing'")

    # delete: --yes, or the name typed on a terminal; never without either.
    one_error_line(gallery_("delete", "second"), "confirm with --yes")
    monkeypatch.setattr(sys, "stdin", Terminal("secnd\n"))
    one_error_line(gallery_("delete", "second"), "the name did not match")
    assert read(user, twin["id"])["name"] == "triplet"
    names = {w["name"] for w in user.get("/workspaces/default/workflows").json()}
    assert "second" in names
    monkeypatch.setattr(sys, "stdin", Terminal("second\n"))
    typed = gallery_("delete", "second")
    assert typed.code == 0, typed.err
    assert "Type its name (second)" in typed.out and "deleted default/second" in typed.out
    assert gallery_("delete", "triplet", "--yes").out.strip() == "deleted default/triplet"
    names = {w["name"] for w in user.get("/workspaces/default/workflows").json()}
    assert names == {"base", "base_copy"}
    one_error_line(gallery_("delete", "triplet", "--yes"), "has no workflow named 'triplet'")
    # A workflow with an open run stays.
    record_runs(gallery, workflow["id"], ["running"])
    one_error_line(gallery_("delete", "base", "--yes"), "open execution", "409")


# --- another user's workflow -------------------------------------------------------------------


def test_another_users_workflow_is_not_found(
    gallery: Gallery, shell_of: Callable[[httpx.Client], Shell], tmp_path: Path
) -> None:
    """The publisher of the asset cannot see the workflow a user imported from it."""
    publisher, user = gallery.user("pub"), gallery.user("imp")
    name = "w" + uuid.uuid4().hex[:8]
    workflow = wf.Workflow(name=name, desc="", steps=[job("only", tool_dir(tmp_path))])
    release, theirs = shared_import(publisher, user, workflow, visibility="public")

    mine = shell_of(user)("workflows")
    assert row_of(mine.out, theirs["name"])[1] == f"{release.content_id}@{release.version}"

    outsider = shell_of(publisher)
    assert outsider("workflows").out.strip() == "no workflows in workspace 'default'"
    for verb in (
        ("config", theirs["id"]),
        ("config", theirs["id"], "-p", "x=1"),
        ("copy", theirs["id"], "mine"),
        ("rename", theirs["id"], "mine"),
        ("tag", theirs["id"], "+mine"),
        ("delete", theirs["id"], "--yes"),
    ):
        one_error_line(outsider(*verb), f"no workflow {theirs['id']!r}")
    one_error_line(outsider("config", theirs["name"]), "has no workflow named")
    after = read(user, theirs["id"])
    assert (after["name"], after["tags"], after["config"]["placeholders"]) == (
        theirs["name"],
        [],
        {},
    )
