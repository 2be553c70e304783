"""``gallery`` verbs for assets and subscriptions, run as a user would against a real server:
subscribe, unsubscribe, subscriptions, versions, visibility, whitelist, deprecate, yank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.support import token_of
from tests.support.gallery import Client, Gallery, new_asset, publish, workflow_manifest

GALLERY = str(Path(sys.executable).with_name("gallery"))
PROBLEM = "application/problem+json"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
# The module's tests share the session's servers on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("cli-assets")


class Shell:
    """The ``gallery`` command signed in as one user (by environment, as scripts do)."""

    def __init__(self, gallery: Gallery, client: Client, config: Path) -> None:
        self.client = client
        self.env = {
            **os.environ,
            "GALLERY_URL": gallery.base_url,
            "GALLERY_TOKEN": token_of(client),
            "GALLERY_CONFIG_DIR": str(config),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GALLERY, *args], env=self.env, capture_output=True, text=True, timeout=60
        )

    def ok(self, *args: str) -> str:
        done = self(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert done.stderr == "", done.stderr
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str) -> str:
        """The one error line of a refused command (exit status 1, nothing on stdout)."""
        done = self(*args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        return lines[0]


@pytest.fixture
def shell(gallery: Gallery, tmp_path: Path) -> Any:
    """``shell(client)``: the command as that user."""
    count = iter(range(1000))
    return lambda client: Shell(gallery, client, tmp_path / f"config{next(count)}")


def published(client: Client, *versions: str, visibility: str = "public", **fields: Any) -> str:
    """A new algorithm asset of ``client`` with these versions published; its content id."""
    cid = str(new_asset(client, visibility=visibility, **fields)["content_id"])
    for version in versions:
        answer = publish(client, cid, {"version": version})
        assert answer.status_code == 201, answer.text
    return cid


def subscribed(client: Client) -> dict[str, dict[str, Any]]:
    answer = client.get("/subscriptions")
    assert answer.status_code == 200, answer.text
    return {s["content_id"]: s for s in answer.json()}


# --- subscriptions -------------------------------------------------------------------------


def test_subscribe_shows_the_terms_and_needs_them_accepted(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0", terms="Cite the weather paper.\nNo resale.")
    reader = gallery.user("reader")
    sh = shell(reader)

    refused = sh("subscribe", cid)
    assert refused.returncode == 1
    assert "Cite the weather paper." in refused.stdout and "No resale." in refused.stdout
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), refused.stderr
    assert f"re-run with 'gallery subscribe {cid} --accept-terms'" in lines[0]
    assert subscribed(reader) == {}

    out = sh.ok("subscribe", cid, "--accept-terms")
    assert "Cite the weather paper." in out
    assert f"subscribed to {owner.username}/" in out and "latest version 1.0.0" in out
    assert cid in subscribed(reader)
    assert "already subscribed" in sh.ok("subscribe", cid, "--accept-terms")
    assert owner.get(f"/assets/{cid}").json()["subscription_count"] == 1

    # For scripts: the server's answer only on stdout (the terms go to stderr).
    done = sh("subscribe", cid, "--accept-terms", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["content_id"] == cid
    assert "No resale." in done.stderr


def test_subscribing_to_an_asset_without_terms_still_asks(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0")
    reader = gallery.user("reader")
    sh = shell(reader)
    done = sh("subscribe", cid)
    assert done.returncode == 1
    assert "states no terms" in done.stdout
    assert "--accept-terms" in done.stderr
    assert subscribed(reader) == {}
    assert "subscribed to" in sh.ok("subscribe", cid, "--accept-terms")


def test_subscriptions_say_when_a_new_version_is_out(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    news = published(owner, "1.0.0", title="Weather model")
    quiet = published(owner, "2.0.0", title="Quiet one")
    reader = gallery.user("reader")
    sh = shell(reader)
    assert "no subscriptions" in sh.ok("subscriptions")
    sh.ok("subscribe", news, "--accept-terms")
    sh.ok("subscribe", quiet, "--accept-terms")
    assert publish(owner, news, {"version": "1.1.0"}).status_code == 201

    rows = {line.split()[0]: line for line in sh.ok("subscriptions").splitlines()}
    assert rows["CONTENT"].split() == [
        "CONTENT",
        "ID",
        "ASSET",
        "TITLE",
        "SUBSCRIBED/LATEST",
        "NEWS",
    ]
    assert f"{owner.username}/" in rows[news] and "Weather model" in rows[news]
    assert "1.0.0/1.1.0" in rows[news] and "new version available: 1.1.0" in rows[news]
    assert "2.0.0/2.0.0" in rows[quiet] and "new version" not in rows[quiet]

    listed = {s["content_id"]: s for s in sh.json("subscriptions")}
    assert (listed[news]["subscribed_version"], listed[news]["latest_version"]) == (
        "1.0.0",
        "1.1.0",
    )
    assert listed[news]["update_available"] is True and listed[news]["new_versions"] == 1
    assert listed[quiet]["update_available"] is False

    # A newer version that is yanked is no news.
    assert publish(owner, quiet, {"version": "2.1.0"}).status_code == 201
    owner.patch(f"/assets/{quiet}/versions/2.1.0", json={"status": "yanked"}).raise_for_status()
    listed = {s["content_id"]: s for s in sh.json("subscriptions")}
    assert listed[quiet]["latest_version"] == "2.0.0"
    assert listed[quiet]["update_available"] is False


def test_subscribed_version_counts_only_versions_shared_with_the_reader(
    gallery: Gallery, shell: Any
) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0", "1.1.0", visibility="group")
    reader = gallery.user("reader")
    owner.post(
        f"/assets/{cid}/versions/1.0.0/whitelist", json={"principals": [reader.username]}
    ).raise_for_status()
    sh = shell(reader)
    sh.ok("subscribe", cid, "--accept-terms")
    entry = sh.json("subscriptions")[0]
    assert (entry["subscribed_version"], entry["latest_version"]) == ("1.0.0", "1.0.0")
    assert entry["update_available"] is False
    assert publish(owner, cid, {"version": "1.2.0"}).status_code == 201
    owner.post(
        f"/assets/{cid}/versions/1.2.0/whitelist", json={"principals": [reader.username]}
    ).raise_for_status()
    entry = sh.json("subscriptions")[0]
    assert (entry["subscribed_version"], entry["latest_version"]) == ("1.0.0", "1.2.0")
    assert entry["update_available"] is True


def test_unsubscribe(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0")
    reader = gallery.user("reader")
    sh = shell(reader)
    sh.ok("subscribe", cid, "--accept-terms")
    assert sh.ok("unsubscribe", cid).strip() == f"unsubscribed from {cid}"
    assert subscribed(reader) == {}
    assert "were not subscribed" in sh.ok("unsubscribe", cid)
    assert owner.get(f"/assets/{cid}").json()["subscription_count"] == 0


# --- versions, visibility, status ----------------------------------------------------------


def test_versions_table_shows_status_date_and_changes(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = str(new_asset(owner, visibility="public")["content_id"])
    spec = {"name": "tool", "boot_file": "tool.py", "outputs": ["out"]}
    for manifest in (
        {"spec": spec, "description": "first cut"},
        {"spec": {**spec, "outputs": ["out", "extra"]}, "description": "adds an output"},
        {"spec": {**spec, "outputs": ["extra"]}},
    ):
        assert publish(owner, cid, manifest).status_code == 201
    sh = shell(owner)
    sh.ok("deprecate", f"{cid}@1.0.0")

    lines = sh.ok("versions", cid).splitlines()
    assert lines[0].split() == ["VERSION", "STATUS", "DATE", "CHANGES"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ["2.0.0", "1.1.0", "1.0.0"]
    assert "active" in rows["2.0.0"] and "major: output 'out' removed" in rows["2.0.0"]
    assert "minor: output 'extra' added — adds an output" in rows["1.1.0"]
    assert "deprecated" in rows["1.0.0"] and rows["1.0.0"].endswith("first cut")
    today = owner.get(f"/assets/{cid}/versions/1.0.0").json()["created_at"][:10]
    assert today in rows["1.0.0"]

    listed = sh.json("versions", cid)
    assert [(v["version"], v["bump"]) for v in listed] == [
        ("2.0.0", "major"),
        ("1.1.0", "minor"),
        ("1.0.0", None),
    ]
    # Another user reads the same list (changes included); versions without specs have none.
    reader = shell(gallery.user("reader"))
    assert [v["changes"] for v in reader.json("versions", cid)][1] == [
        {"impact": "additive", "message": "output 'extra' added"}
    ]
    plain = published(owner, "1.0.0", "1.0.1")
    assert [(v["version"], v["changes"]) for v in reader.json("versions", plain)] == [
        ("1.0.1", None),
        ("1.0.0", None),
    ]
    empty = str(new_asset(owner)["content_id"])
    assert "has no versions" in sh.ok("versions", empty)


def test_version_list_compares_only_versions_the_reader_can_read(
    gallery: Gallery, shell: Any
) -> None:
    """A partly shared asset: changes are computed against the previous *readable* version,
    so nothing of an unshared version's interface shows."""
    owner = gallery.user("owner")
    cid = str(new_asset(owner, visibility="group")["content_id"])
    spec = {"name": "tool", "boot_file": "tool.py", "outputs": ["out"]}
    for outputs in (["out"], ["out", "secret"], ["out", "secret", "public"]):
        assert publish(owner, cid, {"spec": {**spec, "outputs": outputs}}).status_code == 201
    reader = gallery.user("reader")
    for version in ("1.0.0", "1.2.0"):
        owner.post(
            f"/assets/{cid}/versions/{version}/whitelist", json={"principals": [reader.username]}
        ).raise_for_status()
    listed = shell(reader).json("versions", cid)
    assert [v["version"] for v in listed] == ["1.2.0", "1.0.0"]
    assert [c["message"] for c in listed[0]["changes"]] == [
        "output 'public' added",
        "output 'secret' added",
    ]


def test_deprecate_and_yank(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0", "1.1.0")
    sh = shell(owner)
    out = sh.ok("deprecate", f"{cid}@1.0.0")
    assert out.startswith(f"{cid}@1.0.0 is now deprecated")
    out = sh.ok("yank", f"{cid}@1.1.0")
    assert out.startswith(f"{cid}@1.1.0 is now yanked") and "can no longer be imported" in out
    asset = owner.get(f"/assets/{cid}").json()
    assert asset["latest_version"] == "1.0.0"
    assert sh.json("yank", f"{cid}@1.0.0")["status"] == "yanked"

    reader = shell(gallery.user("reader"))
    assert "only the owner" in reader.fails("deprecate", f"{cid}@1.0.0")
    assert "only the owner" in reader.fails("yank", f"{cid}@1.0.0")
    assert "no version '9.9.9'" in sh.fails("yank", f"{cid}@9.9.9")
    for bad in (cid, "@1.0.0"):
        assert "CONTENT_ID@VERSION" in sh.fails("deprecate", bad)


def test_visibility(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0", visibility="private")
    sh = shell(owner)
    reader = shell(gallery.user("reader"))
    unseen = reader.fails("versions", cid)

    out = sh.ok("visibility", cid, "public")
    assert f"({cid}) is now public" in out
    assert "1.0.0" in reader.ok("versions", cid)
    assert "only the owner" in reader.fails("visibility", cid, "private")

    out = sh.ok("visibility", cid, "group")
    assert "is now group" in out and "whitelist add" in out
    assert reader.fails("versions", cid) == unseen
    assert sh.json("visibility", cid, "private")["visibility"] == "private"
    assert owner.get(f"/assets/{cid}").json()["visibility"] == "private"

    wrong = sh("visibility", cid, "friends")
    assert wrong.returncode == 2 and "invalid choice: 'friends'" in wrong.stderr


# --- whitelists ----------------------------------------------------------------------------


def test_whitelist_add_show_remove(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    group = gallery.group("team")
    friend = gallery.user("friend")
    member = gallery.user("member", groups=(group,))
    algorithm = published(owner, "1.0.0", visibility="group")
    workflow = str(new_asset(owner, kind="workflow", visibility="group")["content_id"])
    dependency = {"content_id": algorithm, "version": "1.0.0"}
    assert publish(owner, workflow, workflow_manifest([dependency])).status_code == 201
    sh = shell(owner)
    ref = f"{workflow}@1.0.0"

    assert sh.ok("whitelist", "show", ref).strip() == f"the whitelist of {ref} is empty"
    unseen = shell(friend).fails("versions", workflow)

    out = sh.ok("whitelist", "add", ref, friend.username or "", f"group:{group}")
    assert out.splitlines()[0] == f"shared {ref}"
    names = sorted([friend.username or "", f"group:{group}"])
    assert f"whitelist of {ref}: {', '.join(names)}" in out
    assert f"also changed on the versions it depends on: {algorithm}@1.0.0" in out
    assert "1.0.0" in shell(friend).ok("versions", workflow)
    assert "1.0.0" in shell(member).ok("versions", algorithm)

    shown = sh.json("whitelist", "show", ref)
    assert shown["principals"] == names and shown["warning"] is None
    assert f"whitelist of {ref}: {', '.join(names)}" in sh.ok("whitelist", "show", ref)

    out = sh.ok("whitelist", "remove", ref, friend.username or "")
    assert out.splitlines()[0] == f"stopped sharing {ref}"
    assert sh.json("whitelist", "show", ref)["principals"] == [f"group:{group}"]
    assert shell(friend).fails("versions", workflow) == unseen

    # A whitelist matters only while the asset is 'group': the owner is told so.
    sh.ok("visibility", workflow, "private")
    assert "note: asset is private" in sh.ok("whitelist", "show", ref)


def test_whitelist_errors(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0")
    sh = shell(owner)
    ref = f"{cid}@1.0.0"
    line = sh.fails("whitelist", "add", ref, "nobody-" + uuid.uuid4().hex[:6], "group:nogroup")
    assert "unknown user or group" in line and "'group:nogroup'" in line
    assert "CONTENT_ID@VERSION" in sh.fails("whitelist", "show", cid)
    assert "no version '2.0.0'" in sh.fails("whitelist", "show", f"{cid}@2.0.0")
    missing = sh("whitelist", "add", ref)
    assert missing.returncode == 2 and "PRINCIPAL" in missing.stderr
    no_action = sh("whitelist")
    assert no_action.returncode == 2

    # A reader of a public asset may read its versions, not its whitelists or change them.
    reader = shell(gallery.user("reader"))
    assert "only the owner" in reader.fails("whitelist", "show", ref)
    assert "only the owner" in reader.fails("whitelist", "add", ref, owner.username or "")


def test_whitelist_endpoint_answers_problems(gallery: Gallery) -> None:
    """``GET …/whitelist``: 401 anonymous, 403 for a reader, 404 when unreadable."""
    owner = gallery.user("owner")
    public = published(owner, "1.0.0")
    private = published(owner, "1.0.0", visibility="private")
    reader = gallery.user("reader")
    for client, cid, status in (
        (gallery.client(), public, 401),
        (reader, public, 403),
        (reader, private, 404),
        (reader, UNKNOWN, 404),
        (owner, public + "x", 404),
    ):
        answer = client.get(f"/assets/{cid}/versions/1.0.0/whitelist")
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert answer.json()["detail"]
    assert owner.get(f"/assets/{public}/versions/1.0.0/whitelist").json()["principals"] == []


# --- unknown or unreadable: one line, and the same line --------------------------------------


def _commands(cid: str, owner: str) -> list[list[str]]:
    return [
        ["subscribe", cid, "--accept-terms"],
        ["subscribe", cid],
        ["unsubscribe", cid],
        ["versions", cid],
        ["visibility", cid, "public"],
        ["whitelist", "show", f"{cid}@1.0.0"],
        ["whitelist", "add", f"{cid}@1.0.0", owner],
        ["whitelist", "remove", f"{cid}@1.0.0", owner],
        ["deprecate", f"{cid}@1.0.0"],
        ["yank", f"{cid}@1.0.0"],
    ]


def test_unreadable_assets_answer_as_unknown_ones(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    private = published(owner, "1.0.0", visibility="private")
    group = published(owner, "1.0.0", visibility="group")  # whitelisted to nobody
    sh = shell(gallery.user("reader"))
    name = owner.username or ""
    for unknown_args, private_args, group_args in zip(
        _commands(UNKNOWN, name), _commands(private, name), _commands(group, name), strict=True
    ):
        expected = sh.fails(*unknown_args)
        assert UNKNOWN in expected and "(HTTP 404)" in expected, expected
        assert sh.fails(*private_args).replace(private, UNKNOWN) == expected, private_args
        assert sh.fails(*group_args).replace(group, UNKNOWN) == expected, group_args
    # Nothing changed on the way.
    for cid in (private, group):
        asset = owner.get(f"/assets/{cid}").json()
        assert (asset["subscription_count"], asset["latest_version"]) == (0, "1.0.0")
    assert owner.get(f"/assets/{private}").json()["visibility"] == "private"


def test_content_ids_stay_one_path_segment(gallery: Gallery, shell: Any) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0")
    sh = shell(owner)
    for odd in (f"{cid}/versions", f"../assets/{cid}", f"{cid}?x=1", ".."):
        assert "is not a content id" in sh.fails("versions", odd)
    for odd in ("..", "1.0.0/whitelist", "1.0.0?x"):
        assert "is not a version" in sh.fails("yank", f"{cid}@{odd}")
    assert "is not a content id" in sh.fails("yank", f"{cid}/x@1.0.0")
    assert "give the asset's content id" in sh.fails("versions", " ")
    # A well-formed id that is not there reaches the server and is told so.
    assert sh.fails("versions", UNKNOWN) == f"error: no asset '{UNKNOWN}' (HTTP 404)"


def test_signed_out_commands_say_so(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("owner")
    cid = published(owner, "1.0.0")
    env = {
        **os.environ,
        "GALLERY_URL": gallery.base_url,
        "GALLERY_CONFIG_DIR": str(tmp_path / "none"),
    }
    env.pop("GALLERY_TOKEN", None)
    for args in (["subscriptions"], ["subscribe", cid, "--accept-terms"]):
        done = subprocess.run([GALLERY, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stderr.startswith("error: sign in") and done.stderr.count("\n") == 1, (
            done.stderr
        )
