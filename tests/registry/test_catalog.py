"""The catalog: full-text search, filters, sorting, page and keyset pagination, hostile input."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.support.gallery import Gallery, new_asset, publish

PROBLEM = "application/problem+json"


def unique_tag() -> str:
    return "t" + uuid.uuid4().hex[:12]


def search(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get("/assets", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def names(client: httpx.Client, **params: Any) -> list[str]:
    return [item["name"] for item in search(client, **params)["items"]]


def make(client: httpx.Client, name: str, tag: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("visibility", "public")
    tags = [tag, *fields.pop("tags", [])]
    return new_asset(client, name=name, tags=tags, **fields)


def assert_client_error(answer: httpx.Response, field: str | None = None) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


def walk(client: httpx.Client, **params: Any) -> list[str]:
    """Follow next_cursor from the first page to the end; the names in order."""
    seen: list[str] = []
    page = search(client, **params)
    seen += [i["name"] for i in page["items"]]
    while page["next_cursor"]:
        page = search(client, **params, cursor=page["next_cursor"])
        assert page["page"] is None
        seen += [i["name"] for i in page["items"]]
    return seen


# --- full text ---------------------------------------------------------------------------------


@pytest.fixture
def library(gallery: Gallery) -> tuple[httpx.Client, str]:
    owner = gallery.user("cat")
    tag = unique_tag()
    make(
        owner,
        "digits",
        tag,
        title="Handwritten digits classifier",
        description="A small convnet for MNIST",
        tags=["vision"],
    )
    make(
        owner,
        "sentiment",
        tag,
        title="Review sentiment",
        description="Text classification of movie reviews",
        tags=["nlp"],
    )
    make(
        owner,
        "mnistlenet",
        tag,
        kind="model",
        title="LeNet weights",
        description="Pretrained on handwritten data",
        tags=["vision", "weights"],
    )
    make(owner, "weather", tag, kind="dataset", title="Données météo 图像分类", description="")
    make(owner, "hidden", tag, visibility="private", title="Secret classifier")
    return owner, tag


def test_prefix_search_over_title_description_name_and_tags(
    gallery: Gallery, library: tuple[httpx.Client, str]
) -> None:
    owner, tag = library
    reader = gallery.user("reader")
    assert sorted(names(reader, q="classif", tag=tag)) == ["digits", "sentiment"]
    assert sorted(names(reader, q="CLASSIF", tag=tag)) == ["digits", "sentiment"]
    assert names(reader, q="convnet", tag=tag) == ["digits"]  # description
    assert names(reader, q="mnistle", tag=tag) == ["mnistlenet"]  # name
    assert names(reader, q="nlp", tag=tag) == ["sentiment"]  # tag
    assert names(reader, q="lenet", tag=tag) == ["mnistlenet"]  # title
    assert sorted(names(reader, q=tag)) == ["digits", "mnistlenet", "sentiment", "weather"]
    assert names(reader, q="données", tag=tag) == ["weather"]
    assert names(reader, q="MÉTÉO", tag=tag) == ["weather"]
    assert names(reader, q="图像", tag=tag) == ["weather"]
    assert names(reader, q="xylophone", tag=tag) == []
    # The owner also finds the private one.
    assert sorted(names(owner, q="classif", tag=tag)) == ["digits", "hidden", "sentiment"]


def test_several_words_must_all_match(library: tuple[httpx.Client, str]) -> None:
    owner, tag = library
    assert names(owner, q="handwritten classif", tag=tag) == ["digits"]
    assert names(owner, q="classif handwritten", tag=tag) == ["digits"]
    assert names(owner, q="handwritten pretrained", tag=tag) == ["mnistlenet"]
    assert sorted(names(owner, q="handwritten", tag=tag)) == ["digits", "mnistlenet"]
    assert names(owner, q="movie vision", tag=tag) == []
    assert names(owner, q=f"{tag} review", tag=tag) == ["sentiment"]


def test_kind_tag_and_owner_filters(gallery: Gallery, library: tuple[httpx.Client, str]) -> None:
    owner, tag = library
    reader = gallery.user("reader")
    assert names(reader, tag=tag, kind="model") == ["mnistlenet"]
    assert names(reader, tag=tag, kind="dataset") == ["weather"]
    assert names(reader, tag=tag, kind="workflow") == []
    assert sorted(names(reader, tag=tag, kind="algorithm")) == ["digits", "sentiment"]
    assert sorted(names(reader, tag=[tag, "vision"])) == ["digits", "mnistlenet"]
    assert names(reader, tag=[tag, "vision", "weights"]) == ["mnistlenet"]
    assert names(reader, tag=[tag.upper(), "NLP"]) == ["sentiment"]
    assert names(reader, tag=[tag, "vision"], q="classif") == ["digits"]
    owned = search(reader, owner=owner.username, sort="name")
    assert [i["name"] for i in owned["items"]] == ["digits", "mnistlenet", "sentiment", "weather"]
    assert owned["total"] == 4
    assert {i["owner"] for i in owned["items"]} == {owner.username}
    assert search(reader, owner="nobody-" + uuid.uuid4().hex[:8])["items"] == []
    assert names(reader, owner=owner.username, kind="model") == ["mnistlenet"]


# --- sorting and pagination --------------------------------------------------------------------


def test_sort_popular_newest_and_name(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    created = [make(owner, name, tag) for name in ("bravo", "alpha", "delta", "charlie")]
    fans = [gallery.user("fan") for _ in range(3)]
    by_name = {a["name"]: a["content_id"] for a in created}
    subscriptions = {"delta": 3, "alpha": 2, "charlie": 1, "bravo": 0}
    for name, count in subscriptions.items():
        for fan in fans[:count]:
            answer = fan.post(f"/assets/{by_name[name]}/subscription", json={"accept_terms": True})
            assert answer.status_code == 201, answer.text
    popular = search(owner, tag=tag, sort="popular")["items"]
    assert [i["name"] for i in popular] == ["delta", "alpha", "charlie", "bravo"]
    assert [i["subscription_count"] for i in popular] == [3, 2, 1, 0]
    assert names(owner, tag=tag) == ["delta", "alpha", "charlie", "bravo"]  # the default
    assert names(owner, tag=tag, sort="newest") == ["charlie", "delta", "alpha", "bravo"]
    assert names(owner, tag=tag, sort="name") == ["alpha", "bravo", "charlie", "delta"]


def test_page_and_page_size_with_total(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    for i in range(5):
        make(owner, f"item{i}", tag)
    pages = [search(owner, tag=tag, sort="name", page=p, page_size=2) for p in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    assert [p["page_size"] for p in pages] == [2, 2, 2, 2]
    assert [[i["name"] for i in p["items"]] for p in pages] == [
        ["item0", "item1"],
        ["item2", "item3"],
        ["item4"],
        [],
    ]
    assert pages[0]["next_cursor"] and pages[1]["next_cursor"]
    assert pages[2]["next_cursor"] is None
    everything = search(owner, tag=tag, page_size=100)
    assert everything["total"] == 5 and len(everything["items"]) == 5


@pytest.mark.parametrize("sort", ["name", "newest", "popular"])
def test_keyset_walk_sees_every_item_once(gallery: Gallery, sort: str) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    created = [make(owner, f"item{i}", tag)["name"] for i in range(7)]
    walked = walk(owner, tag=tag, sort=sort, page_size=2)
    assert sorted(walked) == sorted(created)
    assert len(walked) == len(set(walked))
    assert walk(owner, tag=tag, sort=sort, page_size=3) == walked
    assert walk(owner, tag=tag, sort=sort, page_size=100) == walked


def test_keyset_walk_is_stable_when_an_asset_is_inserted_midway(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    for i in range(7):
        make(owner, f"item{i}", tag)
    params: dict[str, Any] = {"tag": tag, "sort": "name", "page_size": 2}
    first = search(owner, **params)
    seen = [i["name"] for i in first["items"]]
    assert seen == ["item0", "item1"]
    # One sorts before the position reached, one after it.
    make(owner, "item0x", tag)
    make(owner, "item1x", tag)
    cursor = first["next_cursor"]
    while cursor:
        page = search(owner, **params, cursor=cursor)
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["item0", "item1", "item1x", "item2", "item3", "item4", "item5", "item6"]


def test_keyset_newest_walk_does_not_repeat_when_new_assets_arrive(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    for i in range(6):
        make(owner, f"item{i}", tag)
    params: dict[str, Any] = {"tag": tag, "sort": "newest", "page_size": 2}
    page = search(owner, **params)
    seen = [i["name"] for i in page["items"]]
    while page["next_cursor"]:
        make(owner, f"late{len(seen)}", tag)  # newer than everything: goes to the front
        page = search(owner, **params, cursor=page["next_cursor"])
        seen += [i["name"] for i in page["items"]]
    assert seen == [f"item{i}" for i in range(5, -1, -1)]


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_cursor_from_another_sort_or_tampered_is_refused(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    for i in range(3):
        make(owner, f"item{i}", tag)
    name_cursor = search(owner, tag=tag, sort="name", page_size=1)["next_cursor"]
    assert name_cursor
    for sort in ("newest", "popular"):
        answer = owner.get("/assets", params={"tag": tag, "sort": sort, "cursor": name_cursor})
        assert_client_error(answer, "cursor")
    tampered = [
        ("name", "not-a-cursor"),
        ("name", "!!!"),
        ("name", _cursor({"sort": "name"})),
        ("name", _cursor(["name", "item0"])),
        ("name", _cursor(["name", 5, 1])),
        ("name", _cursor(["name", "item0", "1"])),
        ("popular", _cursor(["popular", "many", 1])),
        ("newest", _cursor(["newest", "yesterday", 1])),
        ("newest", _cursor(["newest", "2024-01-01T00:00:00", 1])),  # no time zone
        ("popular", _cursor(["popular", 10**30, 1])),
        ("name", _cursor(["name", "item0", 10**30])),
        ("name", _cursor(["name", "item0", -(10**30)])),
        ("name", _cursor(["name", "item\u0000", 1])),
        ("name", _cursor(["name", "item0", True])),
        ("newest", _cursor(["newest", 5, 1])),
        ("popular", _cursor(["popular", 1.5, 1])),
    ]
    for sort, cursor in tampered:
        answer = owner.get("/assets", params={"tag": tag, "sort": sort, "cursor": cursor})
        assert_client_error(answer, "cursor")


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 0},
        {"page_size": 101},
        {"page_size": -1},
        {"page_size": "ten"},
        {"page": 0},
        {"page": -3},
        {"sort": "random"},
        {"kind": "spaceship"},
        {"q": "x" * 201},
    ],
)
def test_out_of_range_parameters_are_client_errors(
    gallery: Gallery, params: dict[str, Any]
) -> None:
    assert_client_error(gallery.client().get("/assets", params=params))


# --- hostile input -----------------------------------------------------------------------------


HOSTILE = [
    "'; DROP TABLE asset; --",
    "%",
    "_",
    "__",
    '"',
    '"unterminated',
    "*",
    "classif*",
    "<script>alert(1)</script>",
    "NEAR(",
    "NEAR(a b)",
    "AND OR NOT",
    "a AND",
    "-classif",
    "^classif",
    "title:classif",
    "classif:*",
    "classif & !x | y",
    "()",
    "\\",
    "😀",
    "数据",
    "ﬁne",
    "é",
    "\u200b",
    "a_b",
    "a" * 180,
]


@pytest.mark.parametrize("q", HOSTILE)
def test_metacharacters_in_q_never_break_search(
    gallery: Gallery, library: tuple[httpx.Client, str], q: str
) -> None:
    owner, tag = library
    for client in (owner, gallery.client()):
        body = search(client, q=q, tag=tag)
        assert body["total"] == len(body["items"])
        assert {i["owner"] for i in body["items"]} <= {owner.username}
        # Extra punctuation beside a real word narrows nothing and breaks nothing.
        combined = search(client, q=f"classif {q}", tag=tag)
        assert {i["name"] for i in combined["items"]} <= {"digits", "sentiment", "hidden"}
    # The table is still there.
    assert search(owner, tag=tag)["total"] == 5


def test_punctuation_is_ignored_not_interpreted(library: tuple[httpx.Client, str]) -> None:
    owner, tag = library
    expected = sorted(names(owner, q="classif", tag=tag))
    for q in ("classif'", '"classif"', "classif%", "classif;--", "(classif)", "classif*"):
        assert sorted(names(owner, q=q, tag=tag)) == expected, q


@pytest.mark.parametrize("value", ["'; DROP TABLE asset; --", "%", "\x00", "a" * 64, "é"])
def test_metacharacters_in_filters_never_break_search(gallery: Gallery, value: str) -> None:
    anonymous = gallery.client()
    for key in ("owner", "tag"):
        answer = anonymous.get("/assets", params={key: value})
        assert answer.status_code < 500, answer.text
        if answer.status_code == 200:
            assert answer.json()["items"] == []


def test_hostile_titles_are_stored_literally_and_escaped_in_html(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    tag = unique_tag()
    script = "<script>alert(1)</script>"
    sql = "' OR 1=1 --"
    make(owner, "xss", tag, title=f"{script} {tag}", description=f'<img src=x onerror="{sql}">')
    make(owner, "sqli", tag, title=f"{sql} {tag}", description="& < > \" '")
    found = {i["name"]: i for i in search(gallery.client(), q=tag)["items"]}
    assert found["xss"]["title"] == f"{script} {tag}"
    assert found["xss"]["description"] == f'<img src=x onerror="{sql}">'
    assert found["sqli"]["title"] == f"{sql} {tag}"
    assert found["sqli"]["description"] == "& < > \" '"
    read = gallery.client().get(f"/assets/{found['xss']['content_id']}").json()
    assert read["title"] == f"{script} {tag}"

    page = httpx.get(gallery.base_url + "/", params={"q": tag})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<strong>2</strong> assets" in html
    assert script not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#39; OR 1=1 --" in html  # as Jinja2 (markupsafe) escapes quotes
    assert "&amp; &lt; &gt; &#34; &#39;" in html

    nul = owner.post("/assets", json={"kind": "model", "name": "nul", "title": "a\u0000b"})
    assert_client_error(nul, "title")

    reflected = httpx.get(gallery.base_url + "/", params={"q": '"><script>alert(2)</script>'})
    assert reflected.status_code == 200
    assert "<script>alert(2)" not in reflected.text
    assert "&#34;&gt;&lt;script&gt;" in reflected.text


# --- visibility --------------------------------------------------------------------------------


def test_catalog_shows_only_what_the_caller_may_read(gallery: Gallery) -> None:
    owner = gallery.user("cat")
    friend = gallery.user("friend")
    stranger = gallery.user("stranger")
    tag = unique_tag()
    make(owner, "open", tag, visibility="public")
    shared = make(owner, "shared", tag, visibility="group")
    make(owner, "secret", tag, visibility="private")
    make(owner, "unshared", tag, visibility="group")
    assert publish(owner, shared["content_id"], {}).status_code == 201
    answer = owner.post(
        f"/assets/{shared['content_id']}/versions/1.0.0/whitelist",
        json={"principals": [friend.username]},
    )
    assert answer.status_code == 200, answer.text

    anonymous = gallery.client()
    assert names(anonymous, tag=tag) == ["open"]
    assert search(anonymous, tag=tag)["total"] == 1
    assert names(anonymous, q=tag) == ["open"]
    assert names(anonymous, owner=owner.username) == ["open"]
    assert names(stranger, tag=tag, sort="name") == ["open"]
    assert names(friend, tag=tag, sort="name") == ["open", "shared"]
    assert names(owner, tag=tag, sort="name") == ["open", "secret", "shared", "unshared"]
    assert search(owner, tag=tag)["total"] == 4
    assert names(gallery.admin, tag=tag, sort="name") == ["open", "secret", "shared", "unshared"]
    # Keyset walks respect the same rule.
    assert walk(anonymous, tag=tag, sort="name", page_size=1) == ["open"]
    assert walk(friend, tag=tag, sort="name", page_size=1) == ["open", "shared"]
    # Anonymous HTML catalog too.
    html = httpx.get(gallery.base_url + "/", params={"q": tag}).text
    assert f"{owner.username} / open" in html
    assert f"{owner.username} / secret" not in html
    assert f"{owner.username} / shared" not in html


def test_openapi_lists_the_catalog(gallery: Gallery) -> None:
    answer = httpx.get(gallery.base_url + "/schema/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert "/api/v1/assets" in document["paths"]
    operation = document["paths"]["/api/v1/assets"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"q", "kind", "tag", "owner", "sort", "page", "page_size", "cursor"} <= parameters
    assert "/api/v1/assets/{content_id}/versions" in document["paths"]
