"""The catalog, asset pages and "my assets" as a browser without JavaScript uses them: real
server (SQLite and PostgreSQL), forms with their CSRF token, what the API reports after."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest
from tests.support.web import WebClient, web_client, web_user

XSS = "<script>alert(1)</script>"


# --- reading pages ---------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (
                (tag is None or child.tag == tag)
                and (cls is None or cls in child.classes())
                and all(child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
            ):
                found.append(child)
            found.extend(child.find_all(tag, cls, **attrs))
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(answer: httpx.Response) -> Node:
    parser = _Parser()
    parser.feed(answer.text)
    return parser.root


def cards(answer: httpx.Response) -> list[Node]:
    assert answer.status_code == 200, answer.text
    return parse(answer).find_all("li", "asset-card")


def card_ids(answer: httpx.Response) -> list[str]:
    return [c.find("a").attrs["href"].removeprefix("/assets/") for c in cards(answer)]


def unique_tag() -> str:
    return "t" + uuid.uuid4().hex[:12]


def algorithm_version(client: httpx.Client, **fields: Any) -> tuple[dict[str, Any], str]:
    asset = new_asset(client, **fields)
    spec = {
        "name": "alg",
        "boot_file": "main.py",
        "parameters": [{"name": "rounds", "type": "int", "default": 10}],
        "inputs": ["data"],
        "outputs": ["model"],
    }
    answer = publish(client, asset["content_id"], {"version": "1.0.0", "spec": spec})
    assert answer.status_code == 201, answer.text
    return asset, "1.0.0"


# --- the catalog -----------------------------------------------------------------------------


def test_catalog_search_filters_sort_and_cards(gallery: Gallery) -> None:
    web = web_user(gallery, "cat")
    tag = unique_tag()
    alpha = new_asset(
        web.api,
        kind="workflow",
        name="alpha_" + tag,
        title="Alpha pipeline",
        description="finds churn in tables",
        tags=[tag, "churn"],
        visibility="public",
    )
    publish(web.api, alpha["content_id"], workflow_manifest(version="1.2.0")).raise_for_status()
    beta = new_asset(web.api, name="beta_" + tag, title="Beta", tags=[tag], visibility="public")
    gamma = new_asset(web.api, name="gamma_" + tag, title="Gamma", tags=[tag], visibility="public")
    other = web_user(gallery, "sub")
    other.api.post(
        f"/assets/{gamma['content_id']}/subscription", json={"accept_terms": True}
    ).raise_for_status()

    by_name = web.get("/", params={"tag": tag, "sort": "name"})
    assert card_ids(by_name) == [alpha["content_id"], beta["content_id"], gamma["content_id"]]
    popular = web.get("/", params={"tag": tag})
    assert card_ids(popular)[0] == gamma["content_id"]
    newest = web.get("/", params={"tag": tag, "sort": "newest"})
    assert card_ids(newest) == [gamma["content_id"], beta["content_id"], alpha["content_id"]]
    assert card_ids(web.get("/", params={"tag": tag, "kind": "workflow"})) == [alpha["content_id"]]
    assert card_ids(web.get("/", params={"tag": tag, "q": "churn"})) == [alpha["content_id"]]
    assert card_ids(web.get("/", params={"tag": tag, "q": "nothing-like-this"})) == []

    card = cards(web.get("/", params={"tag": tag, "kind": "workflow"}))[0]
    link = card.find("a")
    assert link.attrs["href"] == f"/assets/{alpha['content_id']}"
    assert link.text() == "Alpha pipeline"
    text = card.text()
    assert f"{web.username} / alpha_{tag}" in text
    assert "v1.2.0" in text and "0 subscribers" in text
    assert card.find("span", "vis").text() == "public"
    assert [a.text() for a in card.find_all("a", "tag")] == [tag, "churn"]
    assert card.find("a", "tag").attrs["href"] == f"/?tag={tag}"
    assert "1 subscriber" in cards(web.get("/", params={"tag": tag, "q": "gamma"}))[0].text()
    # the card's link opens the asset page
    assert web.get(link.attrs["href"]).status_code == 200


def test_catalog_keyset_pages_walk_everything_once(gallery: Gallery) -> None:
    web = web_user(gallery, "page")
    tag = unique_tag()
    made = [
        new_asset(web.api, name=f"p{i:02d}_{tag}", tags=[tag], visibility="public")["content_id"]
        for i in range(30)
    ]
    seen: list[str] = []
    path: str | None = f"/?tag={tag}&sort=name"
    pages = 0
    while path:
        answer = web.get(path)
        seen += card_ids(answer)
        pages += 1
        following = parse(answer).find_all("a", rel="next")
        path = following[0].attrs["href"] if following else None
        if path:
            assert "cursor=" in path and f"tag={tag}" in path and "sort=name" in path
    assert pages == 2
    assert seen == made  # in name order, each once
    # a cursor that no page made is a 4xx naming the field, not a 500
    bad = web.get("/", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert "cursor" in parse(bad).find("div", "problem").text()
    wrong_kind = web.get("/", params={"kind": "spaceship"})
    assert wrong_kind.status_code == 422
    error = parse(wrong_kind).find("span", "field-error", id="kind-error")
    assert "'spaceship' is not a kind" in error.text() and "(one_of)" in error.text()


def test_anonymous_visitors_see_public_assets_and_are_asked_to_sign_in(gallery: Gallery) -> None:
    owner = web_user(gallery, "own")
    tag = unique_tag()
    public = new_asset(owner.api, kind="workflow", tags=[tag], visibility="public")
    publish(owner.api, public["content_id"], workflow_manifest()).raise_for_status()
    private = new_asset(owner.api, tags=[tag], visibility="private")
    anonymous = web_client(gallery)

    assert card_ids(anonymous.get("/", params={"tag": tag})) == [public["content_id"]]
    assert set(card_ids(owner.get("/", params={"tag": tag}))) == {
        public["content_id"],
        private["content_id"],
    }

    page = anonymous.get(f"/assets/{public['content_id']}")
    assert page.status_code == 200
    html = parse(page)
    sign_in = html.find("a", href=f"/login?next=%2Fassets%2F{public['content_id']}")
    assert "Sign in to subscribe / run" in sign_in.text()
    actions = [f.attrs.get("action", "") for f in html.find_all("form")]
    assert not any(a.endswith(("/subscribe", "/run", "/import")) for a in actions)
    # acting anyway is sent to sign in, then back to the asset
    answer = anonymous.submit(f"/assets/{public['content_id']}/subscribe", {})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=%2Fassets%2F{public['content_id']}"


def test_an_asset_the_caller_may_not_read_is_a_404_like_the_api(gallery: Gallery) -> None:
    owner = web_user(gallery, "own")
    private = new_asset(owner.api, visibility="private", title="Secret " + XSS)
    path = f"/assets/{private['content_id']}"
    stranger = web_user(gallery, "str")
    anonymous = web_client(gallery)
    for client in (stranger, anonymous):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "Secret" not in answer.text
        assert "text/html" in answer.headers["content-type"]
    assert stranger.api.get(f"/assets/{private['content_id']}").status_code == 404
    assert owner.get(path).status_code == 200
    # an id that cannot be one, and an unknown one: the same 404
    assert stranger.get("/assets/not-a-uuid").status_code == 404
    assert stranger.get(f"/assets/{uuid.uuid4()}").status_code == 404
    # a version the caller may not read (or that does not exist) is a 404 too
    public = new_asset(owner.api, visibility="public")
    assert stranger.get(f"/assets/{public['content_id']}?version=9.9.9").status_code == 404
    assert stranger.get(f"/assets/{public['content_id']}?version=x%00y").status_code == 404
    # and subscribing to what one cannot see
    assert stranger.submit(f"{path}/subscribe", {}).status_code == 404


def test_subscribe_needs_the_terms_box_and_the_csrf_token(gallery: Gallery) -> None:
    owner = web_user(gallery, "own")
    asset = new_asset(owner.api, visibility="public", terms="Research use only.")
    cid = asset["content_id"]
    web = web_user(gallery, "sub")

    page = parse(web.get(f"/assets/{cid}"))
    form = page.find("form", action=f"/assets/{cid}/subscribe")
    box = form.find("input", name="accept_terms")
    assert box.attrs["type"] == "checkbox"
    assert form.find("label", for_="accept_terms")
    assert "Research use only." in page.find("div", "terms").text()

    # without the CSRF token: refused before anything happens
    refused = web.post(f"/assets/{cid}/subscribe", data={"accept_terms": "on"})
    assert refused.status_code == 403
    # without the box: the form again, saying why next to the box
    unticked = web.submit(f"/assets/{cid}/subscribe", {})
    assert unticked.status_code == 422
    error = parse(unticked).find("span", "field-error", id="accept_terms-error")
    assert "accept" in error.text() and "must_accept" in error.text()
    assert parse(unticked).find("input", name="accept_terms").attrs["aria-invalid"] == "true"
    assert owner.api.get(f"/assets/{cid}").json()["subscription_count"] == 0

    ticked = web.submit(f"/assets/{cid}/subscribe", {"accept_terms": "on"})
    assert ticked.status_code == 303 and ticked.headers["location"] == f"/assets/{cid}"
    assert owner.api.get(f"/assets/{cid}").json()["subscription_count"] == 1
    assert cid in [s["content_id"] for s in web.api.get("/subscriptions").json()]
    after = parse(web.get(f"/assets/{cid}"))
    assert after.find_all("form", action=f"/assets/{cid}/unsubscribe")
    assert not after.find_all("form", action=f"/assets/{cid}/subscribe")

    gone = web.submit(f"/assets/{cid}/unsubscribe", {})
    assert gone.status_code == 303
    assert owner.api.get(f"/assets/{cid}").json()["subscription_count"] == 0

    # an asset without terms: the button alone subscribes
    plain = new_asset(owner.api, visibility="public")["content_id"]
    assert not parse(web.get(f"/assets/{plain}")).find_all("input", name="accept_terms")
    assert web.submit(f"/assets/{plain}/subscribe", {}).status_code == 303
    assert owner.api.get(f"/assets/{plain}").json()["subscription_count"] == 1


def test_user_strings_are_escaped_on_catalog_and_asset_pages(gallery: Gallery) -> None:
    owner = web_user(gallery, "xss")
    tag = unique_tag()
    asset = new_asset(
        owner.api,
        kind="workflow",
        title=XSS,
        description=f"about {XSS}",
        terms=f"terms {XSS}",
        tags=[tag],
        visibility="public",
    )
    manifest = workflow_manifest(description=f"notes {XSS}")
    manifest["spec"]["placeholders"] = [
        {"name": "p", "type": "str", "default": XSS, "description": XSS}
    ]
    publish(owner.api, asset["content_id"], manifest).raise_for_status()
    viewer = web_user(gallery, "view")
    pages = [
        viewer.get("/", params={"tag": tag}),
        viewer.get("/", params={"q": XSS, "tag": XSS}),  # the filters echo back
        viewer.get(f"/assets/{asset['content_id']}"),
        web_client(gallery).get(f"/assets/{asset['content_id']}"),
    ]
    for answer in pages:
        assert answer.status_code in (200,), answer.status_code
        assert XSS not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text
    card = cards(pages[0])[0]
    assert card.find("a").text() == XSS  # shown as text
    asset_page = parse(pages[2])
    assert asset_page.find("h1").text() == XSS
    assert f"about {XSS}" in asset_page.find("div", "prose").text()
    assert f"terms {XSS}" in asset_page.find("div", "terms").text()
    assert XSS in asset_page.find("table", "params").text()


def test_asset_page_versions_parameters_dag_and_dependencies(gallery: Gallery) -> None:
    owner = web_user(gallery, "pub")
    algorithm, alg_version = algorithm_version(owner.api, visibility="public", title="Trainer")
    dep = {"content_id": algorithm["content_id"], "version": alg_version}
    workflow = new_asset(owner.api, kind="workflow", visibility="public", title="Flow")
    cid = workflow["content_id"]
    first = workflow_manifest([dep], version="1.0.0", description="first cut")
    first["spec"]["placeholders"] = [
        {"name": "rate", "type": "float", "default": 0.1, "description": "learning rate"},
    ]
    publish(owner.api, cid, first).raise_for_status()
    second = workflow_manifest([dep], version="2.0.0", description="adds a mode")
    second["spec"]["placeholders"] = [
        {"name": "rate", "type": "float", "default": 0.1, "description": "learning rate"},
        {"name": "mode", "type": "enum", "enum_list": ["fast", "exact"]},
        {"name": "approve", "type": "bool", "delay": True},
    ]
    literal = {"ref": "literal", "value": 1}
    second["spec"]["steps"].append(
        {
            "name": "gate",
            "type": "condition",
            "depends_on": ["step0"],
            "properties": {"conditions": [{"op": "==", "left": literal, "right": literal}]},
        }
    )
    publish(owner.api, cid, second).raise_for_status()
    viewer = web_user(gallery, "view")

    latest = parse(viewer.get(f"/assets/{cid}"))
    assert latest.find("h1").text() == "Flow"
    rows = latest.find("table", "versions").find_all("tr")[1:]
    assert [r.find("th").text() for r in rows] == ["2.0.0", "1.0.0"]
    assert "active" in rows[0].text() and "adds a mode" in rows[0].text()
    changes = rows[0].find("ul", "changes").text()
    assert "placeholder 'mode' added" in changes and "breaking" in changes
    assert "first version" in rows[1].text()
    params = latest.find("table", "params")
    names = [r.find("th").text() for r in params.find_all("tr")[1:]]
    assert names == ["rate", "mode", "approve"]
    mode = params.find_all("tr")[2].text()
    assert "enum" in mode and '"fast"' in mode and '"exact"' in mode and "required" in mode
    assert "asked during the run" in params.find_all("tr")[3].text()
    svg = latest.find("svg", "dag")
    assert svg.attrs["role"] == "img"
    assert {g.attrs["data-step"] for g in svg.find_all("g", "node")} == {"step0", "gate"}
    assert [(e.attrs["data-from"], e.attrs["data-to"]) for e in svg.find_all("path", "edge")] == [
        ("step0", "gate")
    ]
    deps = latest.find("ul", "deps")
    link = deps.find("a")
    assert link.attrs["href"] == f"/assets/{algorithm['content_id']}?version=1.0.0"
    assert link.text() == "Trainer" and "used by step0" in deps.text()
    run = latest.find("form", action=f"/assets/{cid}/run")
    assert run.find("input", name="version").attrs["value"] == "2.0.0"
    imports = latest.find("dialog", id="import-dialog").find("form", action=f"/assets/{cid}/import")
    assert [
        o.attrs["value"] for o in imports.find("select", name="version").find_all("option")
    ] == [
        "2.0.0",
        "1.0.0",
    ]
    assert "default" in [o.attrs["value"] for o in imports.find_all("option")]
    for control in imports.find_all("select") + imports.find_all("input", name="name"):
        assert imports.find("label", for_=control.attrs["id"])

    # the dialog's form, sent as it is filled in, imports into the chosen workspace
    fields = {
        "version": "1.0.0",
        "name": "flow_" + uuid.uuid4().hex[:6],
        "workspace": "default",
    }
    imported = viewer.submit(imports.attrs["action"], fields)
    assert imported.status_code == 303, imported.text
    assert imported.headers["location"].startswith("/workflows/")
    made = viewer.api.get("/workspaces/default/workflows").json()
    made = made["items"] if isinstance(made, dict) else made
    assert [
        (w["source_content_id"], w["source_version"]) for w in made if w["name"] == fields["name"]
    ] == [(cid, "1.0.0")]

    # ?version= shows that version: its DAG and parameters
    older = parse(viewer.get(f"/assets/{cid}", params={"version": "1.0.0"}))
    assert "Version 1.0.0" in older.find("h2", id="shown-h").text()
    assert {g.attrs["data-step"] for g in older.find_all("g", "node")} == {"step0"}
    assert older.find("form", action=f"/assets/{cid}/run").find("input", name="version").attrs[
        "value"
    ] == ("1.0.0")
    # without JavaScript the Import… link opens the dialog through the page itself
    assert "open" in parse(viewer.get(f"/assets/{cid}?import=1")).find("dialog").attrs

    # a dependency the viewer can no longer see is named, not linked
    owner.api.patch(
        f"/assets/{algorithm['content_id']}", json={"visibility": "private"}
    ).raise_for_status()
    hidden = parse(viewer.get(f"/assets/{cid}")).find("ul", "deps")
    assert not hidden.find_all("a")
    assert f"{algorithm['content_id']}@1.0.0" in hidden.text()

    # an algorithm's page: its parameters, inputs and outputs, no DAG and no Run
    owner.api.patch(
        f"/assets/{algorithm['content_id']}", json={"visibility": "public"}
    ).raise_for_status()
    alg_page = parse(viewer.get(f"/assets/{algorithm['content_id']}"))
    assert not alg_page.find_all("svg", "dag")
    assert not alg_page.find_all("form", action=f"/assets/{algorithm['content_id']}/run")
    assert "rounds" in alg_page.find("table", "params").text()
    assert (
        "data" in alg_page.find("dl", "io").text() and "model" in alg_page.find("dl", "io").text()
    )


def _my_assets(web: WebClient) -> Node:
    answer = web.get("/my/assets")
    assert answer.status_code == 200, answer.text
    return parse(answer)


def test_my_assets_actions_change_what_the_api_reports(gallery: Gallery) -> None:
    group = gallery.group("team")
    web = web_user(gallery, "mine")
    friend, _ = gallery.new_user("friend")
    asset = new_asset(web.api, visibility="private", title="Mine")
    cid = asset["content_id"]
    for version in ("1.0.0", "1.1.0"):
        publish(web.api, cid, {"version": version}).raise_for_status()
    somebody_else = web_user(gallery, "else")
    theirs = new_asset(somebody_else.api, visibility="public", title="Not mine")

    page = _my_assets(web)
    section = page.find("section", id=f"asset-{cid}")
    assert section.find("h2").text() == "Mine"
    assert not page.find_all("section", id=f"asset-{theirs['content_id']}")
    assert section.find("select", name="visibility").find("option", selected="").attrs["value"] == (
        "private"
    )

    # visibility
    answer = web.submit(f"/my/assets/{cid}/visibility", {"visibility": "group"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/my/assets#asset-{cid}"
    assert web.api.get(f"/assets/{cid}").json()["visibility"] == "group"
    bad = web.submit(f"/my/assets/{cid}/visibility", {"visibility": "everyone"})
    assert bad.status_code == 422
    error = parse(bad).find("span", "field-error", id=f"vis-{cid}-error")
    assert "public" in error.text() and "(enum)" in error.text()
    assert web.api.get(f"/assets/{cid}").json()["visibility"] == "group"

    # whitelist: add a user and a group, remove one, unknown names shown next to the field
    wl = f"/my/assets/{cid}/versions/1.0.0/whitelist"
    assert web.submit(wl, {"add": f"{friend}, group:{group}"}).status_code == 303
    api_wl = f"/assets/{cid}/versions/1.0.0/whitelist"
    assert sorted(web.api.get(api_wl).json()["principals"]) == sorted([friend, f"group:{group}"])
    listed = _my_assets(web).find("section", id=f"asset-{cid}")
    assert {s.text() for s in listed.find_all("span", "principal")} == {friend, f"group:{group}"}
    assert web.submit(wl, {"remove": friend}).status_code == 303
    assert web.api.get(api_wl).json()["principals"] == [f"group:{group}"]
    unknown = web.submit(wl, {"add": "nobody_like_this group:no_such_group"})
    assert unknown.status_code == 422
    shown = parse(unknown).find("span", "field-error", id=f"wl-{cid}-1.0.0-error")
    assert "nobody_like_this" in shown.text() and "group:no_such_group" in shown.text()
    assert "(exists)" in shown.text()
    typed = parse(unknown).find("input", id=f"wl-{cid}-1.0.0")
    assert typed.attrs["value"] == "nobody_like_this group:no_such_group"  # kept to fix
    assert web.submit(wl, {"add": "  "}).status_code == 422
    assert web.api.get(api_wl).json()["principals"] == [f"group:{group}"]

    # deprecate and yank
    status = f"/my/assets/{cid}/versions/1.1.0/status"
    assert web.submit(status, {"status": "deprecated"}).status_code == 303
    assert web.api.get(f"/assets/{cid}/versions/1.1.0").json()["status"] == "deprecated"
    assert web.submit(status, {"status": "yanked"}).status_code == 303
    assert web.api.get(f"/assets/{cid}/versions/1.1.0").json()["status"] == "yanked"
    assert web.api.get(f"/assets/{cid}").json()["latest_version"] == "1.0.0"
    assert web.submit(status, {"status": "gone"}).status_code == 422
    row = next(
        r
        for r in _my_assets(web).find("section", id=f"asset-{cid}").find_all("tr")
        if r.find_all("th") and r.find("th").text() == "1.1.0"
    )
    assert row.find("span", "vstatus").text() == "yanked"

    # someone else's asset: readable but not theirs to change (403), unreadable ones 404
    other = theirs["content_id"]
    assert web.submit(f"/my/assets/{other}/visibility", {"visibility": "private"}).status_code == (
        403
    )
    assert somebody_else.api.get(f"/assets/{other}").json()["visibility"] == "public"
    assert somebody_else.submit(
        f"/my/assets/{cid}/visibility", {"visibility": "public"}
    ).status_code == (404)
    assert web.submit(
        f"/my/assets/{cid}/versions/9.9.9/status", {"status": "yanked"}
    ).status_code == (404)
    # and without the CSRF token nothing changes
    assert (
        web.post(f"/my/assets/{cid}/visibility", data={"visibility": "public"}).status_code == 403
    )
    assert web.api.get(f"/assets/{cid}").json()["visibility"] == "group"


def test_my_assets_needs_signing_in(gallery: Gallery) -> None:
    anonymous = web_client(gallery)
    answer = anonymous.get("/my/assets")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/my/assets"
