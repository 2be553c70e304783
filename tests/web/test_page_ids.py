"""Ids in the console's addresses follow the API's rule (registry/params.py): every page route
declares its path parameters with the registry's id types, and an id that cannot be one is the
API's 404, with the same sentence, as the HTML error page; ids named by a query (``?step=``,
``?version=``, ``?ids=``) are held to the same rule."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest
from markupsafe import escape

from registry.labeling.routes import LABEL_TASK, SAMPLE
from registry.params import (
    ASSET,
    EXECUTION,
    SERVICE,
    STEP,
    VERSION,
    WORKFLOW,
    WORKSPACE,
    IdKind,
)
from tests.support.gallery import Gallery, new_asset
from tests.support.web import WebClient, web_user
from web.pages import PAGES

ILL_FORMED = {
    ASSET: "not-a-uuid",
    VERSION: "1.0 beta",
    WORKSPACE: "Not a name!",
    WORKFLOW: "nope",
    EXECUTION: "x" * 37,
    STEP: "bad name",
    SERVICE: "nope",
    LABEL_TASK: "nope",
    SAMPLE: "a\x01b",
}
WELL_FORMED = {
    ASSET: str(uuid.uuid4()),
    VERSION: "1.0.0",
    WORKSPACE: "default",
    WORKFLOW: str(uuid.uuid4()),
    EXECUTION: str(uuid.uuid4()),
    STEP: "train",
    SERVICE: str(uuid.uuid4()),
    LABEL_TASK: str(uuid.uuid4()),
    SAMPLE: "images/0.png",
}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def kinds_of(handler: object) -> dict[str, IdKind | None]:
    """The id kind each path parameter of a page handler is declared with (None: none)."""
    parameters = handler.parsed_fn_signature.parameters  # type: ignore[attr-defined]
    found: dict[str, IdKind | None] = {}
    for path in handler.paths:  # type: ignore[attr-defined]
        for name in PARAMETER.findall(path):
            metadata = parameters[name].metadata if name in parameters else ()
            found[name] = next((m for m in metadata if isinstance(m, IdKind)), None)
    return found


def address(path: str, kinds: dict[str, IdKind | None], bad: str) -> str:
    """``path`` with the id ``bad`` ill formed and every other id well formed."""

    def value_of(match: re.Match[str]) -> str:
        kind = kinds[match.group(1)]
        assert kind is not None
        return quote(ILL_FORMED[kind] if match.group(1) == bad else WELL_FORMED[kind], safe="")

    return PARAMETER.sub(value_of, path)


def routes() -> list[tuple[str, str, str, IdKind, str]]:
    """(method, address with one ill-formed id, the id's name, its kind, its value) for every
    id in the path of every page route."""
    cases: list[tuple[str, str, str, IdKind, str]] = []
    for handler in PAGES:
        kinds = kinds_of(handler)
        for path in handler.paths:
            for name in PARAMETER.findall(path):
                kind = kinds[name]
                assert kind is not None
                for method in sorted(handler.http_methods):
                    bad = address(path, kinds, name)
                    cases.append((str(method), bad, name, kind, ILL_FORMED[kind]))
    return cases


def test_every_page_path_parameter_is_a_registry_id_type() -> None:
    """One rule for the API and the pages: no page declares an id of its own kind."""
    for handler in PAGES:
        for name, kind in kinds_of(handler).items():
            assert kind is not None, f"{sorted(handler.paths)}: {name} is not a registry id type"


@pytest.fixture
def user(gallery: Gallery) -> WebClient:
    return web_user(gallery, "ids")


def sentence(kind: IdKind, value: str) -> str:
    """The API's sentence for an absent id (a version's and a step's name the other id)."""
    others = {"content_id": WELL_FORMED[ASSET], "execution_id": WELL_FORMED[EXECUTION]}
    return kind.not_found(value, **others).detail


def test_an_ill_formed_id_on_a_page_is_the_api_s_404_as_html(user: WebClient) -> None:
    cases = routes()
    assert len(cases) > 20
    for method, path, name, kind, value in cases:
        answer = user.get(path) if method == "GET" else user.submit(path, {})
        where = f"{method} {path} ({name})"
        assert answer.status_code == 404, where
        assert answer.headers["content-type"].startswith("text/html"), where
        shown = "/" + value if kind is SAMPLE else value  # a path parameter keeps its "/"
        assert escape(sentence(kind, shown)) in answer.text, where


def test_the_api_answers_the_same_sentence(user: WebClient) -> None:
    answer = user.api.get(f"/executions/{ILL_FORMED[EXECUTION]}")
    assert answer.status_code == 404
    assert answer.json()["detail"] == EXECUTION.not_found(ILL_FORMED[EXECUTION]).detail


def test_ids_in_queries_follow_the_same_rule(user: WebClient) -> None:
    """``?step=`` and ``?version=`` and the comparison's ``?ids=``: an ill-formed id is the
    404 of an absent one, not a 400."""
    execution = WELL_FORMED[EXECUTION]
    long_step = "s" * 65
    answer = user.get(f"/executions/{execution}", params={"step": long_step})
    assert answer.status_code == 404
    detail = STEP.not_found(long_step, execution_id=execution).detail
    assert escape(detail) in answer.text
    content_id = new_asset(user.api, visibility="public")["content_id"]
    long_version = "1." + "0" * 300
    answer = user.get(f"/assets/{content_id}", params={"version": long_version})
    assert answer.status_code == 404
    detail = VERSION.not_found(long_version, content_id=content_id).detail
    assert escape(detail) in answer.text
    answer = user.get("/runs/compare", params={"ids": f"{execution},nope"})
    assert answer.status_code == 404
    assert escape(EXECUTION.not_found("nope").detail) in answer.text
