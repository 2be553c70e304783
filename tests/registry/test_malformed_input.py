"""Bad input is a 4xx, never a 500, and no stored document can break a later read.

Hand-made attacks the schema-driven fuzzer does not make: bytes that are not UTF-8, JSON nested
a thousand deep, manifests nested just below what once broke reads, strings PostgreSQL cannot
store, numbers JSON cannot carry, strings for booleans, integers beyond 64 bits, bodies that are
not what their content type says. Every refusal is a problem document naming the field and the
rule, and leaves nothing behind. Rows stored before these rules (too deep, not Unicode, the
wrong shape) degrade their own field and never fail a read or a list.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from registry.assets.models import Asset, AssetVersion
from registry.db import Database
from registry.documents import MAX_DEPTH
from registry.executions.models import Execution, StepRun
from registry.workspaces.models import RuntimeWorkflow
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


def assert_problem(answer: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert answer.status_code in statuses, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == answer.status_code
    assert body["detail"]
    return body


def assert_error(body: dict[str, Any], field: str, rule: str) -> None:
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in body.get("errors", [])
    ], body
    assert field in body["detail"], body


def nested(depth: int, leaf: str = "1", kind: str = "object") -> str:
    """JSON text with ``depth`` levels of objects (``{"a": …}``) or arrays around ``leaf``."""
    if kind == "object":
        return '{"a":' * depth + leaf + "}" * depth
    return "[" * depth + leaf + "]" * depth


def versions_of(client: httpx.Client, content_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/assets/{content_id}/versions")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def publish_raw(client: httpx.Client, content_id: str, manifest: bytes) -> httpx.Response:
    files = {"manifest": (None, manifest, "application/json")}
    return client.post(f"/assets/{content_id}/versions", files=files)


def fresh_name() -> str:
    return "m" + uuid.uuid4().hex[:12]


def asset_named(client: httpx.Client, name: str) -> list[dict[str, Any]]:
    answer = client.get("/assets", params={"name": name})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def store(gallery: Gallery, statement: Any) -> None:
    """Write straight to the database, as rows stored before today's rules could be."""

    async def main() -> None:
        db = Database(gallery.settings.resolved_database_url)
        try:
            async with db.write() as session:
                await session.exec(statement)
        finally:
            await db.dispose()

    asyncio.run(main())


def imported_workflow(client: httpx.Client) -> str:
    """A workflow in the client's default workspace, with one ``json`` placeholder ``p``."""
    flow = new_asset(client, kind="workflow")["content_id"]
    manifest = workflow_manifest()
    manifest["spec"]["placeholders"] = [{"name": "p", "type": "json", "required": False}]
    assert publish(client, flow, manifest).status_code == 201
    answer = client.post(
        "/workspaces/default/workflows", json={"content_id": flow, "name": fresh_name()}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


# --- 1. bytes that are not UTF-8 ------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_body_that_is_not_utf8_is_a_400(gallery: Gallery, signed_in: bool) -> None:
    owner = gallery.user("utf8")
    cid = new_asset(owner, visibility="public")["content_id"]
    client = gallery.user("utf8") if signed_in else gallery.client()
    name = fresh_name()
    attempts = [
        ("POST", "/assets", b'{"kind":"algorithm","name":"%s","title":"caf\xe9"}' % name.encode()),
        ("POST", f"/assets/{cid}/subscription", b'{"accept_terms":true,"x":"\xff\xfe"}'),
        ("PATCH", f"/assets/{cid}", b'{"title":"\xc3"}'),
        ("PUT", "/workflows/nope/config", b'{"scene":"\xed\xa0\x80"}'),  # an encoded surrogate
    ]
    for method, path, body in attempts:
        answer = client.request(method, path, content=body, headers=JSON)
        if not signed_in and path in ("/assets", "/workflows/nope/config"):
            assert_problem(answer, 401)  # signed-in users only: refused before the body is read
            continue
        problem = assert_problem(answer, 400)
        assert "not valid UTF-8 JSON" in problem["detail"], problem
        assert_error(problem, "body", "json")
    assert asset_named(owner, name) == []
    assert owner.get(f"/assets/{cid}").json()["subscription_count"] == 0


# --- 2. JSON nested far too deep ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["object", "array"])
@pytest.mark.parametrize("depth", [1000, 100_000, MAX_DEPTH + 1])
def test_deeply_nested_body_is_a_400_before_any_parser_recurses(
    gallery: Gallery, kind: str, depth: int
) -> None:
    client = gallery.user("deep")
    workflow = imported_workflow(client)
    before = client.get(f"/workflows/{workflow}").json()
    deep = nested(depth - 1, kind=kind)  # the body's own object is one more level
    attempts = [
        ("POST", "/assets", '{"kind":"algorithm","name":"x","description":' + deep + "}"),
        (
            "PUT",
            f"/workflows/{workflow}/config",
            '{"placeholders":{"p":' + nested(depth - 2) + "}}",
        ),
        ("POST", "/workspaces/default/workflows", '{"spec":' + deep + "}"),
        ("POST", f"/workflows/{workflow}/executions", '{"parameters":' + deep + "}"),
    ]
    for method, path, body in attempts:
        answer = client.request(method, path, content=body.encode(), headers=JSON)
        problem = assert_problem(answer, 400)
        assert f"limit of {MAX_DEPTH} levels" in problem["detail"], problem
        assert_error(problem, "body", "depth")
    assert client.get(f"/workflows/{workflow}").json() == before


def test_body_at_the_depth_limit_is_read(gallery: Gallery) -> None:
    client = gallery.user("deep")
    workflow = imported_workflow(client)
    value = json.loads(nested(MAX_DEPTH - 2))
    answer = client.put(f"/workflows/{workflow}/config", json={"placeholders": {"p": value}})
    assert answer.status_code == 200, answer.text
    assert client.get(f"/workflows/{workflow}").json()["config"]["placeholders"]["p"] == value


# --- 3. a manifest nested deep enough to break reads ----------------------------------------------


@pytest.mark.parametrize("depth", [254, 300, 990, MAX_DEPTH + 1])
@pytest.mark.parametrize("kind", ["object", "array"])
def test_deep_manifest_is_refused_and_leaves_the_versions_readable(
    gallery: Gallery, depth: int, kind: str
) -> None:
    owner = gallery.user("deep")
    cid = new_asset(owner, visibility="public")["content_id"]
    assert publish(owner, cid, {}).status_code == 201
    before = versions_of(owner, cid)
    manifest = '{"metadata":{"x":' + nested(depth - 2, kind=kind) + "}}"
    problem = assert_problem(publish_raw(owner, cid, manifest.encode()), 422)
    assert_error(problem, "manifest", "depth")
    assert f"limit of {MAX_DEPTH} levels" in problem["detail"]
    assert versions_of(owner, cid) == before
    for reader in (gallery.user("reader"), gallery.client()):
        assert [v["version"] for v in versions_of(reader, cid)] == ["1.0.0"]
    assert owner.get(f"/assets/{cid}/versions/1.0.1").status_code == 404


def test_manifest_at_the_depth_limit_is_published_and_read(gallery: Gallery) -> None:
    owner = gallery.user("deep")
    cid = new_asset(owner, visibility="public")["content_id"]
    manifest = '{"metadata":{"x":' + nested(MAX_DEPTH - 2) + "}}"
    answer = publish_raw(owner, cid, manifest.encode())
    assert answer.status_code == 201, answer.text
    stored = json.loads(manifest)["metadata"]
    assert answer.json()["manifest"]["metadata"] == stored
    assert versions_of(gallery.client(), cid)[0]["manifest"]["metadata"] == stored


# --- ... and no stored document breaks a later read -----------------------------------------------


def asset_pk(content_id: str) -> Any:
    return select(Asset.id).where(Asset.content_id == content_id).scalar_subquery()


def test_unservable_stored_manifests_degrade_their_own_row(gallery: Gallery) -> None:
    owner = gallery.user("stored")
    cid = new_asset(owner, visibility="public")["content_id"]
    for _ in range(4):
        assert publish(owner, cid, {"description": "fine"}).status_code == 201
    odd: dict[str, Any] = {
        "1.0.0": {"metadata": json.loads(nested(300))},  # what a 254-deep publish once left
        "1.0.1": {"metadata": {"name": "\ud800"}},  # a lone surrogate: no encoder writes it
        "1.0.2": ["not", "an", "object"],
        "1.0.3": {"description": "fine", "interface": {"inputs": 5}},  # no shape the diff reads
    }
    for version, manifest in odd.items():
        store(
            gallery,
            update(AssetVersion)
            .where(
                col(AssetVersion.asset_id) == asset_pk(cid), col(AssetVersion.version) == version
            )
            .values(manifest=manifest),
        )
    for reader in (owner, gallery.user("reader"), gallery.client()):
        listed = {v["version"]: v for v in versions_of(reader, cid)}
        assert set(listed) == {"1.0.0", "1.0.1", "1.0.2", "1.0.3"}
        for version in ("1.0.0", "1.0.1", "1.0.2"):
            assert "cannot be shown" in listed[version]["manifest"]["unreadable"]
        assert listed["1.0.3"]["manifest"]["description"] == "fine"
        single = reader.get(f"/assets/{cid}/versions/1.0.0")
        assert single.status_code == 200, single.text
    # A publish on top of them still works: an unreadable previous interface is no interface.
    answer = publish(owner, cid, {"interface": {"inputs": {"data": {}}}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "1.0.4"


def test_unservable_stored_workflow_and_execution_documents_degrade(gallery: Gallery) -> None:
    client = gallery.user("stored")
    workflow = imported_workflow(client)
    answer = client.post(f"/workflows/{workflow}/executions", json={})
    assert answer.status_code in (201, 503), answer.text  # a record either way
    execution = client.get(f"/workflows/{workflow}/executions").json()[0]["id"]
    deep = json.loads(nested(300))
    execution_pk = select(Execution.id).where(Execution.execution_id == execution)
    store(
        gallery,
        update(RuntimeWorkflow)
        .where(col(RuntimeWorkflow.workflow_id) == workflow)
        .values(config={"placeholders": {"p": deep}, "storages": {"s": "\udc80"}}),
    )
    store(
        gallery,
        update(Execution)
        .where(col(Execution.execution_id) == execution)
        .values(parameters={"p": deep}, storages=["odd"]),
    )
    store(
        gallery,
        StepRun.__table__.insert().values(  # type: ignore[attr-defined]
            execution_pk=execution_pk.scalar_subquery(),
            name="odd",
            type="job",
            status="failed",
            inputs={"x": "\ud800"},
            outputs=deep,
            parameters=[1, 2],
            metrics={"m": deep},
            waiting_for=[],
        ),
    )
    read = client.get(f"/workflows/{workflow}")
    assert read.status_code == 200, read.text
    assert read.json()["config"] == {"placeholders": {}, "storages": {}, "scene": None}
    listed = client.get("/workspaces/default/workflows")
    assert listed.status_code == 200, listed.text
    answer = client.get(f"/executions/{execution}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "cannot be shown" in body["parameters"]["unreadable"]
    assert "cannot be shown" in body["storages"]["unreadable"]
    step = next(s for s in body["steps"] if s["name"] == "odd")
    for field in ("inputs", "outputs", "parameters", "metrics"):
        assert "cannot be shown" in step[field]["unreadable"], field
    assert client.get(f"/workflows/{workflow}/executions").status_code == 200
    # And the spec itself, should it ever be stored too deep.
    store(
        gallery,
        update(RuntimeWorkflow)
        .where(col(RuntimeWorkflow.workflow_id) == workflow)
        .values(spec={"name": "x", "steps": [], "extra": deep}),
    )
    read = client.get(f"/workflows/{workflow}")
    assert read.status_code == 200, read.text
    assert "cannot be shown" in read.json()["spec"]["unreadable"]
    assert client.get("/workspaces/default/workflows").status_code == 200
    # Reads that need the spec do without it; actions that need it say why they cannot run.
    assert client.get(f"/executions/{execution}").status_code == 200
    assert client.get("/todo").status_code == 200
    refused = client.post(f"/workflows/{workflow}/executions", json={})
    assert refused.status_code == 409, refused.text
    assert "cannot read" in refused.json()["detail"]
    rerun = client.post(f"/executions/{execution}/rerun")
    assert rerun.status_code == 409, rerun.text


# --- 4. booleans are booleans ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "true", 1])
def test_is_admin_must_be_a_json_boolean(gallery: Gallery, value: Any) -> None:
    name = fresh_name()
    answer = gallery.admin.post(
        "/users", json={"username": name, "password": "pw-" + name, "is_admin": value}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "is_admin"
    again = gallery.admin.post("/users", json={"username": name, "password": "pw-" + name})
    assert again.status_code == 201, again.text  # nothing was created the first time
    assert again.json()["is_admin"] is False


@pytest.mark.parametrize("value", ["yes", "true", "on", "1", 1])
def test_accept_terms_must_be_a_json_boolean(gallery: Gallery, value: Any) -> None:
    owner = gallery.user("terms")
    cid = new_asset(owner, visibility="public", terms="Cite us.")["content_id"]
    reader = gallery.user("terms")
    problem = assert_problem(
        reader.post(f"/assets/{cid}/subscription", json={"accept_terms": value}), 422
    )
    assert "accept_terms" in problem["detail"]
    assert "accept_terms" in [e["field"] for e in problem["errors"]]
    assert owner.get(f"/assets/{cid}").json()["subscription_count"] == 0
    assert cid not in [s["content_id"] for s in reader.get("/subscriptions").json()]


@pytest.mark.parametrize("value", ["yes", "true", 1])
def test_spec_booleans_must_be_json_booleans(gallery: Gallery, value: Any) -> None:
    owner = gallery.user("spec")
    cid = new_asset(owner, kind="workflow")["content_id"]
    manifest = workflow_manifest()
    manifest["spec"]["placeholders"] = [{"name": "epochs", "type": "int", "delay": value}]
    problem = assert_problem(publish(owner, cid, manifest), 422)
    assert_error(problem, "manifest.spec.placeholders[0].delay", "bool_type")
    assert versions_of(owner, cid) == []


# --- 5. integers out of range in queries and paths ------------------------------------------------


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "query",
    [
        {"page": HUGE},
        {"page": str(2**63)},
        {"page": "-1"},
        {"page": "0"},
        {"page_size": HUGE},
        {"page_size": "-" + HUGE},
        {"page": "NaN"},
        {"page": "\x00"},
    ],
)
def test_out_of_range_catalog_integers_are_a_422(gallery: Gallery, query: dict[str, str]) -> None:
    for client in (gallery.client(), gallery.user("page")):
        problem = assert_problem(client.get("/assets", params=query), 422)
        assert next(iter(query)) in problem["detail"]


def test_largest_catalog_page_answers(gallery: Gallery) -> None:
    answer = gallery.client().get("/assets", params={"page": 100_000, "page_size": 100})
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == []


@pytest.mark.parametrize("number", [str(2**63), str(2**64), HUGE * 3, "-" + str(2**63 + 1)])
def test_out_of_range_path_ids_are_a_404(gallery: Gallery, number: str) -> None:
    client = gallery.user("path")
    cid = new_asset(client, visibility="public")["content_id"]
    workflow = imported_workflow(client)
    paths = [
        f"/assets/{number}",
        f"/assets/{cid}/versions/{number}",
        f"/assets/{cid}/versions/{number}.0.0",
        f"/assets/{cid}/versions/{number}/package",
        f"/workspaces/{number}/workflows",
        f"/workflows/{number}",
        f"/workflows/{number}/executions",
        f"/executions/{number}",
        f"/executions/{number}/steps/{number}/logs",
        f"/executions/compare?ids={number}",
        f"/workflows/{workflow}/executions?status={number}",
    ]
    for path in paths:
        assert_problem(client.get(path), 404, 422)


@pytest.mark.parametrize("query", [{"offset": HUGE}, {"attempt": HUGE}, {"offset": "-1"}])
def test_out_of_range_log_query_is_a_4xx(gallery: Gallery, query: dict[str, str]) -> None:
    client = gallery.user("logs")
    workflow = imported_workflow(client)
    client.post(f"/workflows/{workflow}/executions", json={})
    execution = client.get(f"/workflows/{workflow}/executions").json()[0]["id"]
    answer = client.get(f"/executions/{execution}/steps/check/logs", params=query)
    assert_problem(answer, 404, 422)


# --- 6. other malformed bytes ---------------------------------------------------------------------


MALFORMED_JSON = {
    "lone-surrogate": (b'{"kind":"algorithm","name":"x","title":"\\ud800"}', 400, "body", "json"),
    "low-surrogate": (b'{"kind":"algorithm","name":"x","title":"\\udc00x"}', 400, "body", "json"),
    "nan": (b'{"kind":"algorithm","name":"x","title":NaN}', 400, "body", "json"),
    "infinity": (b'{"kind":"algorithm","name":"x","title":-Infinity}', 400, "body", "json"),
    "1e400": (b'{"kind":"algorithm","name":"x","title":1e400}', 400, "body", "json"),
    "10**5000": (
        b'{"kind":"algorithm","name":"x","title":1' + b"0" * 5000 + b"}",
        400,
        "body",
        "json",
    ),
    "10**400": (
        b'{"kind":"algorithm","name":"x","tags":[1' + b"0" * 400 + b"]}",
        422,
        "tags[0]",
        "int64",
    ),
    "2**63": (b'{"kind":"algorithm","name":"x","title":%d}' % 2**63, 422, "title", "int64"),
    "nul": (
        b'{"kind":"algorithm","name":"x","description":"a\\u0000b"}',
        422,
        "description",
        "no_nul",
    ),
    "nul-in-key": (b'{"kind":"algorithm","name":"x","\\u0000":1}', 422, "body", "no_nul"),
    "bom": (b'\xef\xbb\xbf{"kind":"algorithm","name":"x"}', 400, "body", "json"),
    "truncated": (b'{"kind":"algorithm","name":"x', 400, "body", "json"),
    "deep-then-unterminated": (b"[" * 100 + b'"' + b'\\"' * 100_000, 400, "body", "depth"),
    "trailing-garbage": (b'{"kind":"algorithm","name":"x"} {}', 400, "body", "json"),
    "not-json": (b"kind=algorithm&name=x", 400, "body", "json"),
}


@pytest.mark.parametrize("case", list(MALFORMED_JSON))
def test_malformed_json_body_is_refused_by_rule(gallery: Gallery, case: str) -> None:
    raw, status, field, rule = MALFORMED_JSON[case]
    client = gallery.user("bytes")
    name = fresh_name()
    body = raw.replace(b'"name":"x"', b'"name":"%s"' % name.encode())
    problem = assert_problem(client.post("/assets", content=body, headers=JSON), status)
    assert_error(problem, field, rule)
    if status == 400:
        assert "not valid UTF-8 JSON" in problem["detail"] or "nested" in problem["detail"]
    assert asset_named(client, name) == []


@pytest.mark.parametrize("body", [b"[]", b'"asset"', b"1", b"null", b"true", b"", b" "])
def test_body_that_is_not_an_object_is_a_4xx(gallery: Gallery, body: bytes) -> None:
    client = gallery.user("roots")
    cid = new_asset(client, visibility="public")["content_id"]
    workflow = imported_workflow(client)
    for method, path in [
        ("POST", "/assets"),
        ("POST", f"/assets/{cid}/subscription"),
        ("PATCH", f"/assets/{cid}"),
        ("POST", f"/assets/{cid}/versions/1.0.0/whitelist"),
        ("PUT", f"/workflows/{workflow}/config"),
        ("POST", "/workspaces"),
    ]:
        answer = client.request(method, path, content=body, headers=JSON)
        assert_problem(answer, 400, 404, 422)
    assert client.get(f"/assets/{cid}").json()["subscription_count"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_json_endpoint_with_another_content_type_never_fails(
    gallery: Gallery, content_type: str
) -> None:
    client = gallery.user("ctype")
    name = fresh_name()
    for body in (b'{"kind":"algorithm","name":"%s"}' % name.encode(), b"--x\r\n\xff\xfe\r\n"):
        answer = client.post("/assets", content=body, headers={"content-type": content_type})
        assert answer.status_code in (201, 400, 415, 422), answer.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"manifest": {}}'),
        ("multipart/form-data; boundary=b", b"this is not multipart"),
        ("multipart/form-data; boundary=b", b""),
        ("multipart/form-data", b"--b\r\n\r\n--b--\r\n"),
        ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="\xff"'),
        ("multipart/form-data; boundary=b", b"--b\r\n\x00\x00\x00\r\n\r\n--b--\r\n"),
        ("multipart/form-data; boundary=" + "b" * 5000, b"--b--\r\n"),
        ("text/plain", b"\xff" * 100),
    ],
)
def test_publish_with_a_body_that_is_not_multipart_is_a_4xx(
    gallery: Gallery, content_type: str, body: bytes
) -> None:
    owner = gallery.user("multi")
    cid = new_asset(owner)["content_id"]
    answer = owner.post(
        f"/assets/{cid}/versions", content=body, headers={"content-type": content_type}
    )
    assert_problem(answer, 400, 413, 422)
    assert versions_of(owner, cid) == []


MALFORMED_MANIFESTS = {
    "not-utf8": (b'{"description":"caf\xe9"}', "manifest", "json"),
    "lone-surrogate": (b'{"description":"\\ud800"}', "manifest", "json"),
    "surrogate-key": (b'{"metadata":{"\\udc00":1}}', "manifest", "json"),
    "nan": (b'{"metadata":{"x":NaN}}', "manifest", "json"),
    "1e400": (b'{"metadata":{"x":1e400}}', "manifest", "json"),
    "10**400": (b'{"metadata":{"x":1' + b"0" * 400 + b"}}", "manifest.metadata.x", "int64"),
    "10**5000": (b'{"metadata":{"x":1' + b"0" * 5000 + b"}}", "manifest", "json"),
    "nul": (b'{"metadata":{"x":["a\\u0000"]}}', "manifest.metadata.x[0]", "no_nul"),
    "nul-key": (b'{"metadata":{"\\u0000":1}}', "manifest.metadata", "no_nul"),
}


@pytest.mark.parametrize("case", list(MALFORMED_MANIFESTS))
def test_malformed_manifest_is_a_422_and_leaves_nothing(gallery: Gallery, case: str) -> None:
    raw, field, rule = MALFORMED_MANIFESTS[case]
    owner = gallery.user("manifest")
    cid = new_asset(owner, visibility="public", kind="model")["content_id"]
    assert publish(owner, cid, {"interface": {"inputs": {"data": {}}}}).status_code == 201
    before = versions_of(owner, cid)
    problem = assert_problem(publish_raw(owner, cid, raw), 422)
    assert_error(problem, field, rule)
    assert versions_of(owner, cid) == before
    assert [v["version"] for v in versions_of(gallery.client(), cid)] == ["1.0.0"]


def test_claimed_interfaces_of_any_shape_publish_one_after_another(gallery: Gallery) -> None:
    """A model's interface is the publisher's claim, stored as sent; only claims shaped like
    the server's own (section -> name -> entry) are compared to pick the next version."""
    owner = gallery.user("claims")
    cid = new_asset(owner, kind="model")["content_id"]
    claims: list[Any] = [
        {"inputs": 5},
        {"inputs": {"data": {}}},
        {"inputs": {"data": {"enum_list": "abc"}}},
        {"inputs": {"data": {"enum_list": [1, {"x": 2}]}}},
        {"inputs": [{"name": "data"}]},
        {"parameters": {"lr": {"enum_list": "abc", "needs_value": "yes"}}},
    ]
    for claim in claims:
        answer = publish(owner, cid, {"interface": claim})
        assert answer.status_code == 201, answer.text
        assert answer.json()["manifest"]["interface"] == claim
    assert len(versions_of(owner, cid)) == len(claims)
