"""The HTTP layer's cross-cutting rules, route by route, enumerated from the app itself.

* Sign-in: every route answers an anonymous caller with the one 401 of ``signed_in`` (the guard
  of ``registry.context.signed_in_routes``), except the routes listed in ``OPEN``: a new route
  is guarded unless it is added there on purpose. One request checks its token once.
* Ids: every path parameter is typed by ``registry.params``; a NUL byte, an over-long value or
  a malformed id in any of them is a 404 problem (the answer for an absent one) before any
  service runs; never a 500.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

import registry.context
from registry.accounts.service import Principal, authenticate
from registry.context import SIGN_IN_FIRST, signed_in
from registry.labeling.routes import SAMPLE
from registry.params import SHA256_PATTERN, UUID_PATTERN, VERSION_PATTERN
from sdk.vocabulary import NAME_PATTERN
from tests.support.gallery import API, Client, Gallery
from web.app import create_app

PROBLEM = "application/problem+json"
OPEN = {
    # Anyone may call these (some answer 401 later, after a 404 for what the caller cannot see).
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/assets"),
    ("GET", "/api/v1/assets/{content_id}"),
    ("PATCH", "/api/v1/assets/{content_id}"),
    ("DELETE", "/api/v1/assets/{content_id}"),
    ("GET", "/api/v1/assets/{content_id}/versions"),
    ("GET", "/api/v1/assets/{content_id}/versions/{version}"),
    ("PATCH", "/api/v1/assets/{content_id}/versions/{version}"),
    ("GET", "/api/v1/assets/{content_id}/versions/{version}/package"),
    ("GET", "/api/v1/assets/{content_id}/versions/{version}/import-check"),
    ("GET", "/api/v1/assets/{content_id}/versions/{version}/whitelist"),
    ("POST", "/api/v1/assets/{content_id}/versions/{version}/whitelist"),
    ("DELETE", "/api/v1/assets/{content_id}/versions/{version}/whitelist"),
    ("POST", "/api/v1/assets/{content_id}/subscription"),
    ("DELETE", "/api/v1/assets/{content_id}/subscription"),
    ("GET", "/api/v1/subscriptions"),
    # Not in the OpenAPI document: the web page, the health check and the document itself.
    ("GET", "/health"),
}
OUTPUT_PATH = "/outputs/{name}"
"""The one path parameter that is not an id (see ``registry.params.OutputPath``)."""


def routes(app: Litestar) -> Iterator[tuple[str, str, Any]]:
    """(method, path, handler) of every route of the app, the path without ``:type``."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method, (handler, _) in route.route_handler_map.items():
            if method not in ("OPTIONS", "HEAD"):
                yield method, path, handler


@pytest.fixture(scope="module")
def app(gallery: Gallery) -> Litestar:
    return create_app(gallery.settings)


@pytest.fixture(scope="module")
def operations(gallery: Gallery) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation of the served OpenAPI document."""
    document = httpx.get(gallery.base_url + "/schema/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def path_parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == "path"]


def sample(parameter: dict[str, Any]) -> str:
    """A well-formed value of the parameter's kind (naming nothing that exists)."""
    schema = parameter["schema"]
    if schema.get("type") == "integer":
        return "2147483000"
    pattern = schema.get("pattern")
    if pattern == UUID_PATTERN:
        return str(uuid.uuid4())
    if pattern == VERSION_PATTERN:
        return "9.9.9"
    if pattern == SHA256_PATTERN:
        return "0" * 64
    if pattern == NAME_PATTERN:
        return "n" + uuid.uuid4().hex[:10]
    if pattern == SAMPLE.pattern:  # a label task's sample: a path in the data
        return "images/1.png"
    assert pattern is None, f"a pattern this test does not know: {parameter}"
    return "model"


def ill_formed(parameter: dict[str, Any]) -> list[str]:
    """Values (percent-encoded as sent) that break the parameter's rule."""
    schema = parameter["schema"]
    if schema.get("type") == "integer":
        return ["0", "-1", "9" * 25, str(2**63)]
    good = sample(parameter)
    too_long = "a" * (schema.get("maxLength", 600) + 1)
    return [
        quote(good[:2] + "\x00" + good[2:]),
        "%00",
        too_long,
        quote(good + "\n"),
        quote("not an id!"),
        "-" + good,
    ]


def url(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path.removeprefix(API)


def signed_in_client(gallery: Gallery) -> Client:
    return gallery.admin  # passes every guard, so what is checked is the path


# --- sign-in ----------------------------------------------------------------------------------


def test_every_route_but_the_open_ones_has_the_sign_in_guard(app: Litestar) -> None:
    seen = set()
    for method, path, handler in routes(app):
        if path.startswith("/schema"):
            continue  # the OpenAPI document and its viewers
        if not path.startswith((API, "/health")):
            continue  # the web console's pages: sign-in by redirect (tests/web)
        seen.add((method, path))
        guarded = signed_in in handler.resolve_guards()
        assert guarded == ((method, path) not in OPEN), (method, path)
        if guarded:
            assert "user" in handler.resolve_dependencies(), (method, path)
        else:
            assert "user" not in handler.resolve_dependencies(), (method, path)
    assert seen >= OPEN  # the list names no route that is gone


def test_the_openapi_document_says_which_routes_need_a_token(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    for method, path, operation in operations:
        if (method, path) in OPEN:
            assert "security" not in operation, (method, path)  # the document's: anonymous too
        else:
            assert operation["security"] == [{"bearer": []}, {"password": []}], (method, path)


def assert_sign_in_first(answer: httpx.Response, detail: str = SIGN_IN_FIRST) -> None:
    assert answer.status_code == 401, (answer.request.url, answer.text)
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.headers["www-authenticate"] == 'Bearer realm="gallery"'
    assert answer.json() == {
        "type": "about:blank",
        "title": "Not authenticated",
        "status": 401,
        "detail": detail,
        "instance": answer.request.url.path,
    }


def test_anonymous_callers_get_the_one_sign_in_answer(
    gallery: Gallery, operations: list[tuple[str, str, dict[str, Any]]]
) -> None:
    anonymous = gallery.client()
    checked = 0
    for method, path, operation in operations:
        if (method, path) in OPEN:
            continue
        values = {p["name"]: quote(sample(p), safe="") for p in path_parameters(operation)}
        # A body that is not even JSON: the guard answers before anything is read.
        answer = anonymous.request(method, url(path, values), content=b"\xff{")
        assert_sign_in_first(answer)
        checked += 1
    assert checked >= 35


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Bearer not-a-token", "invalid or expired credentials"),
        ("Basic YWRtaW46YWRtaW4=", "use 'Authorization: Bearer <token>'"),
    ],
)
def test_bad_credentials_get_the_same_answer_on_every_route(
    gallery: Gallery,
    operations: list[tuple[str, str, dict[str, Any]]],
    authorization: str,
    detail: str,
) -> None:
    with httpx.Client(
        base_url=gallery.base_url + API, headers={"Authorization": authorization}
    ) as c:
        for method, path, operation in operations:
            if path == API + "/auth/token":
                continue  # the sign-in itself reads no credentials
            values = {p["name"]: quote(sample(p), safe="") for p in path_parameters(operation)}
            assert_sign_in_first(c.request(method, url(path, values)), detail)


def test_one_request_checks_its_token_once(
    gallery: Gallery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard and the ``principal``/``user`` dependencies share one resolution."""
    owner = gallery.user("once")
    cid = owner.post("/assets", json={"kind": "algorithm", "name": "once"}).json()["content_id"]
    token = owner.post("/tokens", json={"name": "once"}).json()["token"]
    checks: list[str] = []

    async def counted(*args: Any, **kwargs: Any) -> Principal:
        checks.append("token")
        return await authenticate(*args, **kwargs)

    monkeypatch.setattr(registry.context, "authenticate", counted)
    monkeypatch.setattr(registry.context.PrincipalCache, "get", lambda self, token: None)
    client = gallery.client(token)
    admin_token = gallery.admin.post("/tokens", json={"name": "once"}).json()["token"]
    admin = gallery.client(admin_token)
    for caller, method, path, status in [
        (client, "GET", "/me", 200),  # guard and user
        (client, "GET", "/workspaces", 200),  # guard and user
        (client, "GET", f"/assets/{cid}", 200),  # principal only
        (client, "GET", f"/assets/{cid}/versions/1.0.0/import-check", 404),
        (admin, "GET", f"/groups/{gallery.group('once')}", 200),  # two guards
    ]:
        checks.clear()
        answer = caller.request(method, path)
        assert answer.status_code == status, answer.text
        assert checks == ["token"], (method, path)


# --- ids in the path --------------------------------------------------------------------------


def test_every_path_parameter_is_typed(operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    for method, path, operation in operations:
        for parameter in path_parameters(operation):
            schema = parameter["schema"]
            where = (method, path, parameter["name"])
            if path.endswith(OUTPUT_PATH) and parameter["name"] == "name":
                continue
            if schema.get("type") == "integer":
                assert schema.get("minimum") == 1 and schema.get("maximum"), where
            else:
                assert schema.get("pattern") and schema.get("maxLength"), where
            assert parameter.get("description"), where


def test_ill_formed_ids_in_any_path_parameter_are_a_404(
    gallery: Gallery, operations: list[tuple[str, str, dict[str, Any]]]
) -> None:
    signed_in = signed_in_client(gallery)
    anonymous = gallery.client()
    checked = 0
    for method, path, operation in operations:
        parameters = path_parameters(operation)
        good = {p["name"]: quote(sample(p), safe="") for p in parameters}
        callers = [signed_in, anonymous] if (method, path) in OPEN else [signed_in]
        for parameter in parameters:
            output_path = path.endswith(OUTPUT_PATH) and parameter["name"] == "name"
            for bad in ill_formed(parameter):
                target = url(path, {**good, parameter["name"]: bad})
                for caller in callers:
                    answer = caller.request(method, target)
                    where = (method, target, answer.text[:300])
                    assert answer.headers["content-type"].startswith(PROBLEM), where
                    if output_path:  # not an id: outputs.requested says which rule (or 404)
                        assert answer.status_code in (404, 422), where
                        continue
                    assert answer.status_code == 404, where
                    assert answer.json()["detail"].startswith("no "), where
                    checked += 1
    assert checked > 200


def test_the_404_of_an_ill_formed_id_names_it_like_an_absent_one(gallery: Gallery) -> None:
    client = gallery.user("ids")
    cid = client.post("/assets", json={"kind": "algorithm", "name": "ids"}).json()["content_id"]
    absent = str(uuid.uuid4())
    cases = [
        (f"/assets/{absent}", f"no asset {absent!r}"),
        ("/assets/a%00b", "no asset 'a\\x00b'"),
        (f"/assets/{cid}/versions/1%00", f"no version '1\\x00' of asset {cid}"),
        (f"/workflows/{absent}", f"no workflow {absent!r}"),
        ("/workflows/x%00", "no workflow 'x\\x00'"),
        (f"/executions/{absent}", f"no execution {absent!r}"),
        ("/executions/x%00", "no execution 'x\\x00'"),
        (f"/executions/{absent}/steps/a%00/logs", f"no step 'a\\x00' in execution {absent}"),
        ("/workspaces/x%00/workflows", "no workspace 'x\\x00'"),
        ("/workspaces/-x/workflows", "no workspace '-x'"),
        (f"/executions/compare?ids={absent},x%00", "no execution 'x\\x00'"),
    ]
    for path, detail in cases:
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["detail"] == detail, path
    admin = gallery.admin
    for path, detail in [
        ("/groups/x%00", "no group named 'x\\x00'"),
        ("/tokens/0", "no token with id 0"),
    ]:
        method = "DELETE" if path.startswith("/tokens") else "GET"
        answer = admin.request(method, path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["detail"] == detail, path
    answer = admin.post("/users/x%00/deactivate")
    assert answer.status_code == 404 and answer.json()["detail"] == "no user named 'x\\x00'"
    # A body's field named like a path parameter is the body's 422, not the path's 404.
    answer = client.patch(f"/assets/{cid}/versions/1.0.0", json={"version": "9.9.9"})
    assert answer.status_code == 422, answer.text
