"""Workspaces, workflows and the configuration form in the web console, as a browser without
JavaScript uses them (forms, redirects, CSRF tokens), on a real server (SQLite and
PostgreSQL); one-click Run and Save-and-start on a real Temporal dev server and worker."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx
import pytest

from sdk import spec as ir
from tests.conftest import Runtime
from tests.support.executions import record_runs
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest
from tests.support.runner import wait_for
from tests.support.web import WebClient, tag_of, text_of, web_client, web_user
from web.forms import parse_text, value_text

XSS = "<script>alert(1)</script>"
PLACEHOLDERS = [
    {"name": "epochs", "type": "int", "default": 10, "description": f"passes {XSS}"},
    {"name": "rate", "type": "float", "required": False},
    {"name": "mode", "type": "enum", "enum_list": ["fast", "slow"], "default": "fast"},
    {"name": "verbose", "type": "bool", "default": False},
    {"name": "sizes", "type": "list", "format": "int", "required": False},
    {"name": "extra", "type": "json", "required": False},
    {"name": "answer", "type": "int", "delay": True},
]


def workflow_asset(
    client: httpx.Client, placeholders: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    """A published workflow asset (one condition step) with typed placeholders, an output
    storage and a scene."""
    asset = new_asset(client, kind="workflow", **fields)
    manifest = workflow_manifest()
    manifest["spec"]["description"] = f"Checks things {XSS}"
    manifest["spec"]["placeholders"] = placeholders
    manifest["spec"]["storages"] = [{"name": "out", "kind": "output"}]
    manifest["spec"]["scenes"] = [{"name": "only_check", "steps": ["check"]}]
    answer = publish(client, asset["content_id"], manifest)
    assert answer.status_code == 201, answer.text
    return asset


def imported(client: WebClient, name: str = "flow") -> dict[str, Any]:
    """A configurable workflow imported (through the Import form) into the default workspace."""
    asset = workflow_asset(client.api, PLACEHOLDERS)
    answer = client.submit(
        f"/assets/{asset['content_id']}/import", {"name": name, "workspace": "default"}
    )
    assert answer.status_code == 303, answer.text
    workflow_id = answer.headers["location"].removeprefix("/workflows/")
    return read(client, workflow_id)


def read(client: WebClient, workflow_id: str) -> dict[str, Any]:
    answer = client.api.get(f"/workflows/{workflow_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def space_of(client: WebClient) -> str:
    return f"/{client.username}/default/"


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [
        ({"type": "int"}, 12),
        ({"type": "int"}, -3),
        ({"type": "float"}, 1.0),
        ({"type": "float"}, 2.5e-10),
        ({"type": "str"}, "  spaced <b>"),
        ({"type": "enum", "enum_list": ["a", 1, True]}, 1),
        ({"type": "enum", "enum_list": ["a", 1, True]}, True),
        ({"type": "enum", "enum_list": ["1", 1]}, "1"),
        ({"type": "enum", "enum_list": ["1", 1]}, 1),
        ({"type": "list", "format": "int"}, [1, 2, 3]),
        ({"type": "list", "format": "str"}, ["x", "y z"]),
        ({"type": "list", "format": "str"}, ["", " padded", "two\nlines"]),
        ({"type": "list", "format": "bool"}, [True, False]),
        ({"type": "json"}, {"a": [1, {"b": None}], "c": "é"}),
        ({"type": "json"}, [1, 2]),
    ],
)
def test_values_round_trip_through_the_form(placeholder: dict[str, Any], value: Any) -> None:
    """What the form shows of a value reads back as that value, of the same type."""
    spec = ir.PlaceholderSpec.model_validate({"name": "p", **placeholder})
    again = parse_text(spec, value_text(spec, value))
    assert again == value and type(again) is type(value)
    assert ir.value_matches(spec, again) is None


@pytest.fixture
def user(gallery: Gallery) -> WebClient:
    return web_user(gallery, "cfg")


def test_the_form_has_a_typed_field_per_placeholder(user: WebClient) -> None:
    workflow = imported(user)
    page = user.get(f"/workflows/{workflow['id']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'type="number" step="1"' in tag_of(text, "p-epochs")
    assert 'placeholder="default: 10"' in tag_of(text, "p-epochs")
    assert 'step="any"' in tag_of(text, "p-rate")
    assert tag_of(text, "p-mode").startswith("<select")
    assert 'type="checkbox"' in tag_of(text, "p-verbose")
    assert tag_of(text, "p-sizes").startswith("<textarea")
    assert tag_of(text, "p-extra").startswith("<textarea")
    assert "p-answer" not in text  # delayed: asked for while running
    assert 'name="s.out"' in tag_of(text, "s-out")
    assert 'value="only_check"' in text and 'name="scene"' in text
    # User text is escaped wherever it shows (a placeholder's description, the spec's).
    assert XSS not in text and html.escape(XSS) in text


def test_the_form_saves_typed_values_that_round_trip(user: WebClient) -> None:
    workflow = imported(user)
    url = f"/workflows/{workflow['id']}"
    root = f"{space_of(user)}results/"
    answer = user.submit(
        f"{url}/config",
        {
            "p.epochs": "12",
            "p.rate": "0.25",
            "p.mode": "slow",
            "p.verbose": ["false", "true"],
            "p.sizes": "1\n2\n3",
            "p.extra": '{"a": [1, 2]}',
            "s.out": root,
            "scene": "only_check",
            "action": "save",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{url}?saved=1"
    config = read(user, workflow["id"])["config"]
    assert config == {
        "placeholders": {
            "epochs": 12,
            "rate": 0.25,
            "mode": "slow",
            "verbose": True,
            "sizes": [1, 2, 3],
            "extra": {"a": [1, 2]},
        },
        "storages": {"out": root},
        "scene": "only_check",
    }
    assert type(config["placeholders"]["epochs"]) is int
    # The form shows them again as they were typed.
    page = user.get(f"{url}?saved=1").text
    assert "Saved." in page
    assert 'value="12"' in tag_of(page, "p-epochs")
    assert "checked" in tag_of(page, "p-verbose")
    assert text_of(page, "p-sizes") == "1\n2\n3"
    assert 'value="slow" selected' in page
    assert re.search(r'id="scene-1"[^>]*checked', page)
    # Emptied fields and an unticked box go back to their defaults.
    cleared = user.submit(
        f"{url}/config",
        {"p.epochs": "", "p.rate": "", "p.mode": "", "p.verbose": "false", "p.sizes": "",
         "p.extra": "", "s.out": "", "scene": "", "action": "save"},
    )  # fmt: skip
    assert cleared.status_code == 303, cleared.text
    config = read(user, workflow["id"])["config"]
    assert config == {"placeholders": {"verbose": False}, "storages": {}, "scene": None}


def test_a_refused_value_comes_back_beside_its_field_and_nothing_is_lost(
    user: WebClient,
) -> None:
    workflow = imported(user)
    url = f"/workflows/{workflow['id']}"
    before = read(user, workflow["id"])["config"]
    answer = user.submit(
        f"{url}/config",
        {
            "p.epochs": "many",
            "p.rate": "0.5",
            "p.mode": "slow",
            "p.sizes": "1\ntwo",
            "p.extra": "{broken",
            "s.out": "results",
            "action": "save",
        },
    )
    assert answer.status_code == 422, answer.text
    page = answer.text
    for name, words in (
        ("epochs", "'many' is not of type int"),
        ("sizes", "element 1: 'two' is not of type int"),
        ("extra", "not valid JSON"),
    ):
        field = tag_of(page, f"p-{name}")
        assert 'aria-invalid="true"' in field, field
        assert f'aria-describedby="p-{name}-error' in field, field
        assert words in text_of(page, f"p-{name}-error")
    assert "is not an object-store directory" in text_of(page, "s-out-error")
    # What was typed stays in the form, the good values with the bad ones.
    assert 'value="0.5"' in tag_of(page, "p-rate")
    assert 'value="many"' in tag_of(page, "p-epochs")
    assert 'value="slow" selected' in page
    assert text_of(page, "p-extra") == "{broken"
    assert 'aria-invalid="true"' not in tag_of(page, "p-rate")
    assert read(user, workflow["id"])["config"] == before  # nothing saved
    # A root outside the workspace's namespace: the registry's words, beside it.
    outside = user.submit(f"{url}/config", {"s.out": "/elsewhere/x/", "action": "save"})
    assert outside.status_code == 422
    assert "outside this workspace" in text_of(outside.text, "s-out-error")
    assert read(user, workflow["id"])["config"] == before


def test_missing_values_are_marked(user: WebClient) -> None:
    workflow = imported(user)
    page = user.get(f"/workflows/{workflow['id']}", params={"missing": "rate,nope"}).text
    assert 'aria-invalid="true"' in tag_of(page, "p-rate")
    assert text_of(page, "p-rate-error") == "needs a value to start"
    assert 'href="#p-rate"' in page and "nope" not in page


def test_delete_needs_the_typed_name(user: WebClient) -> None:
    workflow = imported(user, "doomed")
    url = f"/workflows/{workflow['id']}"
    page = user.get(url).text
    assert 'data-confirm-name="doomed"' in page
    wrong = user.submit(f"{url}/delete", {"confirm": "Doomed"})
    assert wrong.status_code == 422, wrong.text
    assert "type the workflow&#39;s name, doomed" in wrong.text
    assert 'aria-invalid="true"' in tag_of(wrong.text, "confirm")
    assert read(user, workflow["id"])["name"] == "doomed"
    done = user.submit(f"{url}/delete", {"confirm": "doomed"})
    assert (done.status_code, done.headers["location"]) == (303, "/workspaces/default")
    assert user.api.get(url).status_code == 404


def test_forms_without_this_browser_s_token_are_refused(gallery: Gallery, user: WebClient) -> None:
    workflow = imported(user)
    url = f"/workflows/{workflow['id']}"
    before = read(user, workflow["id"])
    for path, fields in (
        (f"{url}/config", {"p.epochs": "3", "action": "save"}),
        (f"{url}/delete", {"confirm": workflow["name"]}),
        (f"{url}/copy", {}),
    ):
        assert user.post(path, data=fields).status_code == 403
        forged = user.post(path, data={**fields, "_csrf": "forged"})
        assert forged.status_code == 403
    # Another browser's token does not fit this one either.
    other = web_user(gallery, "other")
    token = other.csrf("/login")
    assert user.post(f"{url}/copy", data={"_csrf": token}).status_code == 403
    assert read(user, workflow["id"]) == before
    assert len(user.api.get("/workspaces/default/workflows").json()) == 1


def test_other_users_get_404_and_anonymous_visitors_sign_in(
    gallery: Gallery, user: WebClient
) -> None:
    workflow = imported(user)
    url = f"/workflows/{workflow['id']}"
    other = web_user(gallery, "other")
    assert other.get(url).status_code == 404
    for path, fields in (
        (f"{url}/config", {"p.epochs": "3"}),
        (f"{url}/start", {}),
        (f"{url}/stop", {}),
        (f"{url}/copy", {}),
        (f"{url}/delete", {"confirm": workflow["name"]}),
    ):
        assert other.submit(path, fields).status_code == 404, path
    assert workflow["id"] not in other.get("/workspaces/default").text
    assert other.get(f"/workflows/{uuid.uuid4()}").status_code == 404
    assert other.get("/workflows/not-an-id").status_code == 404
    assert other.get("/workspaces/nowhere").status_code == 404
    anonymous = web_client(gallery)
    answer = anonymous.get(url)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={url}"
    assert read(user, workflow["id"])["config"]["placeholders"] == {}


def test_the_workspace_table_shows_latest_runs_and_filters(
    gallery: Gallery, user: WebClient
) -> None:
    first = imported(user, "alpha")
    second = imported(user, "beta")
    user.api.patch(f"/workflows/{second['id']}", json={"tags": ["vision"]})
    record_runs(gallery, first["id"], ["failed", "succeeded"])
    page = user.get("/workspaces/default")
    assert page.status_code == 200, page.text
    rows = {
        name: row
        for row in re.findall(r'<tr data-workflow="[^"]+">.*?</tr>', page.text, re.S)
        for name in ("alpha", "beta")
        if f">{name}</a>" in row
    }
    assert "succeeded" in rows["alpha"] and "execution-002" in rows["alpha"]
    assert "never run" in rows["beta"] and ">vision</span>" in rows["beta"]
    assert 'data-confirm-name="alpha"' in page.text

    def names(**params: str) -> list[str]:
        answer = user.get("/workspaces/default", params=params)
        assert answer.status_code == 200, answer.text
        return re.findall(
            r'<th scope="row"><a href="/workflows/[^"]+" class="mono">(\w+)</a>', answer.text
        )

    assert names(q="alp") == ["alpha"]
    assert names(tag="vision") == ["beta"]
    assert names(status="succeeded") == ["alpha"]
    assert names(status="none") == ["beta"]
    bad = user.get("/workspaces/default", params={"tag": "Not a tag!"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in tag_of(bad.text, "f-tag")
    # Copy from the table comes back to it, with the twin listed.
    here = "/workspaces/default?q=alp"
    copied = user.submit(f"/workflows/{first['id']}/copy", {"next": here})
    assert (copied.status_code, copied.headers["location"]) == (303, here)
    assert names(q="alp") == ["alpha_copy", "alpha"]


def test_workspaces_are_listed_and_made(user: WebClient) -> None:
    page = user.get("/workspaces")
    assert page.status_code == 200 and ">default</a>" in page.text
    made = user.submit("/workspaces", {"name": "team"})
    assert (made.status_code, made.headers["location"]) == (303, "/workspaces/team")
    assert user.get("/workspaces/team").status_code == 200
    again = user.submit("/workspaces", {"name": "team"})
    assert again.status_code == 409 and "already have a workspace" in again.text
    bad = user.submit("/workspaces", {"name": "9 lives"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in tag_of(bad.text, "new-name")


def test_the_import_form_names_what_is_wrong(user: WebClient) -> None:
    asset = workflow_asset(user.api, PLACEHOLDERS, title=f"Title {XSS}")
    url = f"/assets/{asset['content_id']}/import"
    assert user.submit(url, {"name": "taken", "workspace": "default"}).status_code == 303
    taken = user.submit(url, {"name": "taken", "workspace": "default"})
    assert taken.status_code == 409
    assert "already has a workflow named" in text_of(taken.text, "import-name-error")
    assert XSS not in taken.text and html.escape(XSS) in taken.text
    bad = user.submit(url, {"name": "no spaces", "workspace": "default"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in tag_of(bad.text, "import-name")
    assert user.submit(url, {"name": "x", "workspace": "nowhere"}).status_code == 404
    assert user.submit(f"/assets/{uuid.uuid4()}/import", {}).status_code == 404


# --- with a runner ------------------------------------------------------------------------------


def test_run_from_the_asset_page_then_from_the_form(runtime: Runtime) -> None:
    client = web_user(runtime.gallery, "runner")
    ready = new_asset(client.api, kind="workflow", visibility="public")
    assert publish(client.api, ready["content_id"], workflow_manifest()).status_code == 201
    # Everything has a value: one click starts it.
    answer = client.submit(f"/assets/{ready['content_id']}/run", {})
    assert answer.status_code == 303, answer.text
    execution_id = answer.headers["location"].removeprefix("/executions/")
    assert wait_for(client.api, execution_id)["status"] == "succeeded"
    workflows = client.api.get("/workspaces/default/workflows").json()
    assert [w["name"] for w in workflows] == [ready["name"]]

    # A required value is missing: to the form, with the field marked.
    needy = workflow_asset(client.api, [{"name": "epochs", "type": "int"}])
    answer = client.submit(f"/assets/{needy['content_id']}/run", {"version": "1.0.0"})
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.endswith("?missing=epochs")
    page = client.get(location).text
    assert text_of(page, "p-epochs-error") == "needs a value to start"
    workflow_id = location.split("?")[0].removeprefix("/workflows/")
    # Start without it: back to the form.
    start = client.submit(f"/workflows/{workflow_id}/start", {})
    assert start.headers["location"] == f"/workflows/{workflow_id}?missing=epochs"
    # Save and start: the run, with the typed value.
    done = client.submit(
        f"/workflows/{workflow_id}/config",
        {"p.epochs": "5", "scene": "", "action": "start"},
    )
    assert done.status_code == 303, done.text
    execution_id = done.headers["location"].removeprefix("/executions/")
    finished = wait_for(client.api, execution_id)
    assert finished["status"] == "succeeded" and finished["parameters"] == {"epochs": 5}
    page = client.get(f"/workflows/{workflow_id}").text
    assert f'href="/executions/{execution_id}"' in page and "succeeded" in page
