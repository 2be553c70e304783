"""``release_to_gallery`` against a real registry: algorithms, reuse, versions, whitelists."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from sdk import spec as ir
from sdk._packaging import pack
from tests.sdk.support import (
    EXAMPLE,
    EXAMPLE_DIR,
    copy_example,
    edit,
    load,
    split_example,
    token_of,
)
from tests.support.gallery import Client, Gallery, new_asset, publish
from tests.support.server import free_port

ALGORITHMS = ["digits_export", "digits_prepare", "digits_report", "digits_train"]
JOB_STEPS = ["prepare", "train", "export", "report"]
PROBLEM = "application/problem+json"


@pytest.fixture
def owner(gallery: Gallery, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Client:
    """A new user whose credentials the SDK picks up from the environment."""
    client = gallery.user("owner")
    monkeypatch.setenv("GALLERY_URL", gallery.base_url)
    monkeypatch.setenv("GALLERY_TOKEN", token_of(client))
    monkeypatch.setenv("GALLERY_CONFIG_DIR", str(tmp_path / "config"))
    return client


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def own_algorithms(client: Client) -> dict[str, dict[str, Any]]:
    page = ok(client.get("/assets", params={"owner": client.username, "kind": "algorithm"}))
    return {item["name"]: item for item in page["items"]}


def versions(client: httpx.Client, content_id: str) -> list[str]:
    return [v["version"] for v in ok(client.get(f"/assets/{content_id}/versions"))]


def algorithm_versions(client: Client) -> dict[str, list[str]]:
    return {name: versions(client, a["content_id"]) for name, a in own_algorithms(client).items()}


def by_name(release: wf.Release) -> dict[str, tuple[str, bool]]:
    return {a.name: (a.version, a.reused) for a in release.algorithms}


def test_first_release_publishes_the_algorithms_and_the_workflow(owner: Client) -> None:
    release = load(EXAMPLE).release_to_gallery()
    content_id, version = release
    assert version == "1.0.0" and not release.reused and release.bump is None
    assert by_name(release) == {name: ("1.0.0", False) for name in ALGORITHMS}

    asset = ok(owner.get(f"/assets/{content_id}"))
    assert (asset["kind"], asset["name"], asset["title"]) == (
        "workflow",
        "digits_pipeline",
        "digits_pipeline",
    )
    assert asset["visibility"] == "private" and asset["latest_version"] == "1.0.0"
    algorithms = own_algorithms(owner)
    assert sorted(algorithms) == ALGORITHMS
    for item in algorithms.values():
        assert (item["latest_version"], item["visibility"]) == ("1.0.0", "private")

    published = ok(owner.get(f"/assets/{content_id}/versions/1.0.0"))
    expected = sorted(
        ({"content_id": a["content_id"], "version": "1.0.0"} for a in algorithms.values()),
        key=lambda d: d["content_id"],
    )
    assert sorted(published["dependencies"], key=lambda d: d["content_id"]) == expected
    assert published["manifest"]["dependencies"] == expected
    spec = ir.WorkflowSpec.model_validate(published["manifest"]["spec"])
    for step in spec.steps:
        if step.type == "job":
            algorithm = step.typed_properties().algorithm
            assert (algorithm.source, algorithm.code_dir) == ("gallery", None)
    ran = {step: cid for step, cid, _ in ir.gallery_algorithms(spec)}
    assert ran == {s: algorithms[f"digits_{s}"]["content_id"] for s in JOB_STEPS}
    assert published["manifest"]["interface"]["placeholders"]["c"]["type"] == "float"

    train = algorithms["digits_train"]
    train_version = ok(owner.get(f"/assets/{train['content_id']}/versions/1.0.0"))
    assert train_version["package_sha256"] == pack(EXAMPLE_DIR / "algorithms").sha256
    assert train_version["manifest"]["spec"] == {
        "schema_version": 1,
        "name": "digits_train",
        "boot_file": "train.py",
        "command": None,
        "parameters": [
            {
                "name": "model_type",
                "type": "str",
                "default": "svm",
                "description": "Classifier to train",
            },
            {
                "name": "c",
                "type": "float",
                "default": 1.0,
                "description": "Inverse regularisation strength",
            },
        ],
        "inputs": ["data"],
        "outputs": ["model", "metrics"],
        "environments": {},
        "image": None,
    }


def test_releasing_again_unchanged_reuses_everything(owner: Client) -> None:
    first = load(EXAMPLE).release_to_gallery()
    again = load(EXAMPLE).release_to_gallery()
    assert (again.content_id, again.version, again.reused) == (first.content_id, "1.0.0", True)
    assert by_name(again) == {name: ("1.0.0", True) for name in ALGORITHMS}
    assert versions(owner, first.content_id) == ["1.0.0"]
    assert algorithm_versions(owner) == {name: ["1.0.0"] for name in ALGORITHMS}


def test_a_copy_of_the_example_elsewhere_is_the_same_release(owner: Client, tmp_path: Path) -> None:
    first = load(EXAMPLE).release_to_gallery()
    copy = load(copy_example(tmp_path)).release_to_gallery()
    assert (copy.content_id, copy.version, copy.reused) == (first.content_id, "1.0.0", True)


def test_changing_one_algorithm_republishes_only_it(owner: Client, tmp_path: Path) -> None:
    source = split_example(tmp_path)
    first = load(source).release_to_gallery()
    assert by_name(first) == {name: ("1.0.0", False) for name in ALGORITHMS}
    train_py = source.parent / "algorithms" / "train" / "train.py"
    train_py.write_text(train_py.read_text() + "\n# tuned\n")

    second = load(source).release_to_gallery()
    assert by_name(second) == {
        "digits_prepare": ("1.0.0", True),
        "digits_train": ("1.0.1", False),
        "digits_export": ("1.0.0", True),
        "digits_report": ("1.0.0", True),
    }
    assert (second.content_id, second.version, second.reused) == (first.content_id, "1.0.1", False)
    assert second.bump == "patch" and second.changes == []
    assert algorithm_versions(owner) == {
        "digits_export": ["1.0.0"],
        "digits_prepare": ["1.0.0"],
        "digits_report": ["1.0.0"],
        "digits_train": ["1.0.1", "1.0.0"],
    }
    train_id = own_algorithms(owner)["digits_train"]["content_id"]
    deps = ok(owner.get(f"/assets/{first.content_id}/versions/1.0.1"))["dependencies"]
    assert {"content_id": train_id, "version": "1.0.1"} in deps
    assert {"content_id": train_id, "version": "1.0.0"} not in deps
    old = ok(owner.get(f"/assets/{first.content_id}/versions/1.0.0"))["dependencies"]
    assert {"content_id": train_id, "version": "1.0.0"} in old


def test_shared_code_dir_change_republishes_every_algorithm_using_it(
    owner: Client, tmp_path: Path
) -> None:
    """As shipped, the four algorithms share one code_dir: each package holds all four files."""
    source = copy_example(tmp_path)
    load(source).release_to_gallery()
    report_py = source.parent / "algorithms" / "report.py"
    report_py.write_text(report_py.read_text() + "\n# reworded\n")
    second = load(source).release_to_gallery()
    assert by_name(second) == {name: ("1.0.1", False) for name in ALGORITHMS}


def test_whitelist_functions_share_the_version_and_its_algorithms(
    gallery: Gallery, owner: Client
) -> None:
    group = gallery.group("team")
    member = gallery.user("member", groups=(group,))
    stranger = gallery.user("stranger")
    content_id, version = load(EXAMPLE).release_to_gallery(visibility="group")
    algorithms = own_algorithms(owner)
    assert {a["visibility"] for a in algorithms.values()} == {"group"}
    readable = [f"/assets/{content_id}/versions/{version}"] + [
        f"/assets/{a['content_id']}/versions/1.0.0" for a in algorithms.values()
    ]
    assert [member.get(url).status_code for url in readable] == [404] * 5

    answer = wf.add_whitelist_users(content_id, version, [f"group:{group}"])
    assert answer["principals"] == [f"group:{group}"]
    assert sorted(d["content_id"] for d in answer["cascaded_to"]) == sorted(
        a["content_id"] for a in algorithms.values()
    )
    assert [member.get(url).status_code for url in readable] == [200] * 5
    assert [stranger.get(url).status_code for url in readable] == [404] * 5
    check = ok(member.get(f"/assets/{content_id}/versions/{version}/import-check"))
    assert check["blockers"] == []

    removed = wf.delete_whitelist_users(content_id, version, [f"group:{group}"])
    assert removed["principals"] == []
    assert [member.get(url).status_code for url in readable] == [404] * 5


def test_release_with_group_users_shares_at_once(gallery: Gallery, owner: Client) -> None:
    group = gallery.group("team")
    member = gallery.user("member", groups=(group,))
    release = load(EXAMPLE).release_to_gallery(visibility="group", group_users=[f"group:{group}"])
    assert ok(member.get(f"/assets/{release.content_id}/versions/1.0.0"))["version"] == "1.0.0"
    for algorithm in release.algorithms:
        assert member.get(f"/assets/{algorithm.content_id}/versions/1.0.0").status_code == 200
    mine = ok(owner.get(f"/assets/{release.content_id}/versions/1.0.0"))
    assert mine["whitelist"] == [f"group:{group}"]


def test_group_users_need_group_visibility(owner: Client) -> None:
    with pytest.raises(wf.WorkflowDefinitionError, match="visibility='group'"):
        load(EXAMPLE).release_to_gallery(group_users=["group:x"])
    with pytest.raises(wf.WorkflowDefinitionError, match="'friends'"):
        load(EXAMPLE).release_to_gallery(visibility="friends")
    assert own_algorithms(owner) == {}


C_FLOAT = """    name="c",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=1.0,"""
C_STR = """    name="c",
    placeholder_type=wf.PlaceholderType.STR,
    default="1.0","""
C_CHANGE = "placeholder 'c' type changed from 'float' to 'str'"


@pytest.mark.parametrize("explicit", ["1.1.0", "1.0.9"])
def test_a_breaking_change_refuses_a_minor_or_patch_version(
    owner: Client, tmp_path: Path, explicit: str
) -> None:
    source = copy_example(tmp_path)
    first = load(source).release_to_gallery()
    edit(source, C_FLOAT, C_STR)
    with pytest.raises(wf.PublishError) as caught:
        load(source).release_to_gallery(version=explicit)
    error = caught.value
    assert error.asset == "workflow 'digits_pipeline'"
    assert str(error).startswith("publishing workflow 'digits_pipeline' failed: ")
    assert isinstance(error.cause, wf.ApiError) and error.cause.status == 422
    assert C_CHANGE in error.cause.detail and "publish 2.0.0 instead" in error.cause.detail
    assert error.cause.errors == [
        {"field": "version", "rule": "breaking_change", "message": C_CHANGE}
    ]
    assert versions(owner, first.content_id) == ["1.0.0"]


def test_a_breaking_change_gets_a_new_major_version(owner: Client, tmp_path: Path) -> None:
    source = copy_example(tmp_path)
    first = load(source).release_to_gallery()
    edit(source, C_FLOAT, C_STR)
    release = load(source).release_to_gallery()
    assert (release.content_id, release.version, release.bump) == (
        first.content_id,
        "2.0.0",
        "major",
    )
    assert release.changes == [{"impact": "breaking", "message": C_CHANGE}]
    # The training algorithm's parameter changed type with the placeholder: its own major bump.
    assert by_name(release) == {
        name: ("2.0.0", False) if name == "digits_train" else ("1.0.0", True) for name in ALGORITHMS
    }
    edit(source, C_STR, C_FLOAT)  # changing it back breaks 2.0.0's users in turn
    with pytest.raises(wf.PublishError, match=r"publish 3\.0\.0 instead"):
        load(source).release_to_gallery(version="2.1.0")
    back = load(source).release_to_gallery(version="3.0.0")
    assert (back.version, back.bump) == ("3.0.0", "major")
    assert back.changes == [
        {"impact": "breaking", "message": "placeholder 'c' type changed from 'str' to 'float'"}
    ]


TRAIN_POLICY = "policy=wf.steps.StepPolicy(max_execution_minutes=30, max_retries=1),"
TRAIN_POLICY_WITH_SKIP = """policy=wf.steps.StepPolicy(
        max_execution_minutes=30,
        max_retries=1,
        skip_conditions=wf.steps.Condition(
            wf.steps.ConditionTypeEnum.EQ,
            wf.Placeholder("skip_train", wf.PlaceholderType.BOOL, default=False),
            True,
        ),
    ),"""


def test_an_optional_placeholder_with_a_default_is_a_minor_release(
    owner: Client, tmp_path: Path
) -> None:
    source = copy_example(tmp_path)
    first = load(source).release_to_gallery()
    edit(source, TRAIN_POLICY, TRAIN_POLICY_WITH_SKIP)
    release = load(source).release_to_gallery()
    assert (release.content_id, release.version, release.bump) == (
        first.content_id,
        "1.1.0",
        "minor",
    )
    assert release.changes == [{"impact": "additive", "message": "placeholder 'skip_train' added"}]
    assert by_name(release) == {name: ("1.0.0", True) for name in ALGORITHMS}


def test_a_failed_workflow_publish_is_retried_without_duplicates(
    owner: Client, tmp_path: Path
) -> None:
    source = split_example(tmp_path)
    first = load(source).release_to_gallery()
    train_py = source.parent / "algorithms" / "train" / "train.py"
    train_py.write_text(train_py.read_text() + "\n# tuned\n")

    with pytest.raises(wf.PublishError) as caught:
        load(source).release_to_gallery(version="1.0.0")
    assert caught.value.asset == "workflow 'digits_pipeline'"
    assert "workflow 'digits_pipeline'" in str(caught.value)
    assert isinstance(caught.value.cause, wf.ApiError) and caught.value.cause.status == 409
    assert "1.0.0" in caught.value.cause.detail and "already exists" in caught.value.cause.detail
    assert versions(owner, first.content_id) == ["1.0.0"]

    retry = load(source).release_to_gallery()
    assert retry.version == "1.0.1" and not retry.reused
    assert by_name(retry)["digits_train"] == ("1.0.1", True)
    assert algorithm_versions(owner)["digits_train"] == ["1.0.1", "1.0.0"]
    assert versions(owner, first.content_id) == ["1.0.1", "1.0.0"]


def test_release_into_an_existing_asset_by_content_id(owner: Client, tmp_path: Path) -> None:
    holder = new_asset(owner, kind="workflow", name="holder" + uuid.uuid4().hex[:6])
    release = load(EXAMPLE).release_to_gallery(content_id=holder["content_id"], desc="first cut")
    assert (release.content_id, release.version) == (holder["content_id"], "1.0.0")
    published = ok(owner.get(f"/assets/{holder['content_id']}/versions/1.0.0"))
    assert published["description"] == "first cut"


def test_someone_elses_asset_is_refused(gallery: Gallery, owner: Client) -> None:
    other = gallery.user("other")
    theirs = new_asset(other, kind="workflow", name="theirs")
    with pytest.raises(wf.PublishError) as caught:
        load(EXAMPLE).release_to_gallery(content_id=theirs["content_id"])
    assert caught.value.asset == "workflow 'digits_pipeline'"
    assert isinstance(caught.value.cause, wf.ApiError) and caught.value.cause.status == 404


def test_release_without_credentials_says_so(
    gallery: Gallery, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GALLERY_URL", gallery.base_url)
    monkeypatch.delenv("GALLERY_TOKEN", raising=False)
    monkeypatch.setenv("GALLERY_CONFIG_DIR", str(tmp_path))
    with pytest.raises(wf.PublishError) as caught:
        load(EXAMPLE).release_to_gallery()
    assert caught.value.asset == "workflow 'digits_pipeline'"
    assert isinstance(caught.value.cause, wf.ApiError) and caught.value.cause.status == 401


def test_a_definition_error_stops_the_release_before_anything_is_published(
    owner: Client, tmp_path: Path
) -> None:
    source = copy_example(tmp_path)
    edit(source, 'if_then_steps=["export"]', 'if_then_steps=["exprot"]')
    with pytest.raises(wf.WorkflowDefinitionError, match="unknown step 'exprot'"):
        load(source).release_to_gallery()
    assert own_algorithms(owner) == {}


# --- the registry re-validates what it is sent -----------------------------------------------

LITERAL = {"ref": "literal", "value": 1}


def condition(name: str, **extra: Any) -> dict[str, Any]:
    conditions = [{"op": "==", "left": LITERAL, "right": LITERAL}]
    return {"name": name, "type": "condition", "properties": {"conditions": conditions}, **extra}


def job(name: str, algorithm: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": "job", "properties": {"algorithm": algorithm}}


BAD_SPECS: dict[str, tuple[dict[str, Any], str, str]] = {
    "cycle": (
        {"steps": [condition("x", depends_on=["y"]), condition("y", depends_on=["x"])]},
        "manifest.spec.steps",
        "dependency cycle: x -> y -> x",
    ),
    "unknown placeholder": (
        {
            "steps": [
                {
                    **condition("check"),
                    "properties": {
                        "conditions": [
                            {
                                "op": "==",
                                "left": {"ref": "placeholder", "name": "nope"},
                                "right": LITERAL,
                            }
                        ]
                    },
                }
            ]
        },
        "manifest.spec.steps.check.conditions[0]",
        "unknown placeholder 'nope'",
    ),
    "metric of a non-metrics output": (
        {
            "steps": [
                {
                    **job("train", {"source": "local", "code_dir": "/c", "boot_file": "t.py"}),
                    "outputs": [{"name": "model"}],
                },
                {
                    **condition("check", depends_on=["train"]),
                    "properties": {
                        "conditions": [
                            {
                                "op": ">=",
                                "left": {
                                    "ref": "metric",
                                    "step": "train",
                                    "output": "model",
                                    "key": "acc",
                                },
                                "right": LITERAL,
                            }
                        ]
                    },
                },
            ]
        },
        "manifest.spec.steps.check.conditions[0]",
        "which is not a metrics output",
    ),
    "algorithm not in dependencies": (
        {"steps": [job("train", {"source": "gallery", "content_id": "c1", "version": "1.0.0"})]},
        "manifest.spec.steps.train",
        "runs algorithm c1@1.0.0, which is not an exact version in manifest.dependencies",
    ),
    "local code": (
        {
            "steps": [
                job("train", {"source": "local", "code_dir": "/tmp/code", "boot_file": "t.py"})
            ]
        },
        "manifest.spec.steps.train",
        "runs local code",
    ),
    "ill-formed step name": (
        {"steps": [condition("1bad")]},
        "manifest.spec.steps[0].name",
        "pattern",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_registry_refuses_a_hand_made_bad_spec(gallery: Gallery, case: str) -> None:
    client = gallery.user("hand")
    asset = new_asset(client, kind="workflow", name="hand")
    spec, field, message = BAD_SPECS[case]
    answer = publish(client, asset["content_id"], {"spec": {"name": "hand", **spec}})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert any(e["field"] == field and message in e["message"] for e in body["errors"]), body
    assert field in body["detail"]
    assert versions(client, asset["content_id"]) == []


def test_registry_refuses_a_workflow_without_spec(gallery: Gallery) -> None:
    client = gallery.user("hand")
    asset = new_asset(client, kind="workflow", name="hand")
    answer = publish(client, asset["content_id"], {})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "manifest.spec"


def test_registry_ignores_a_claimed_interface(gallery: Gallery, owner: Client) -> None:
    """The interface (and so the bump) is the server's own reading of the spec."""
    release = load(EXAMPLE).release_to_gallery()
    published = ok(owner.get(f"/assets/{release.content_id}/versions/1.0.0"))
    manifest = {
        "spec": published["manifest"]["spec"],
        "dependencies": published["manifest"]["dependencies"],
        "interface": {"placeholders": {}},
    }
    answer = publish(owner, release.content_id, manifest)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["version"], answer.json()["bump"]) == ("1.0.1", "patch")
    stored = ok(owner.get(f"/assets/{release.content_id}/versions/1.0.1"))["manifest"]
    assert stored["interface"] == published["manifest"]["interface"]


def test_a_yanked_algorithm_version_is_not_reused(owner: Client) -> None:
    first = load(EXAMPLE).release_to_gallery()
    train = own_algorithms(owner)["digits_train"]["content_id"]
    yank = owner.patch(f"/assets/{train}/versions/1.0.0", json={"status": "yanked"})
    assert yank.status_code == 200, yank.text

    second = load(EXAMPLE).release_to_gallery()
    assert by_name(second)["digits_train"] == ("1.0.1", False)
    assert by_name(second)["digits_prepare"] == ("1.0.0", True)
    assert (second.content_id, second.version) == (first.content_id, "1.0.1")
    deps = ok(owner.get(f"/assets/{first.content_id}/versions/1.0.1"))["dependencies"]
    assert {"content_id": train, "version": "1.0.1"} in deps


def test_a_yanked_workflow_version_is_not_reused(owner: Client) -> None:
    first = load(EXAMPLE).release_to_gallery()
    yank = owner.patch(f"/assets/{first.content_id}/versions/1.0.0", json={"status": "yanked"})
    assert yank.status_code == 200, yank.text
    second = load(EXAMPLE).release_to_gallery()
    assert (second.version, second.reused) == ("1.0.1", False)
    assert by_name(second) == {name: ("1.0.0", True) for name in ALGORITHMS}


def test_reverting_after_a_yank_reuses_the_older_version(owner: Client, tmp_path: Path) -> None:
    source = split_example(tmp_path)
    first = load(source).release_to_gallery()
    train_py = source.parent / "algorithms" / "train" / "train.py"
    original = train_py.read_text()
    train_py.write_text(original + "\n# a bad idea\n")
    assert by_name(load(source).release_to_gallery())["digits_train"] == ("1.0.1", False)
    train = own_algorithms(owner)["digits_train"]["content_id"]
    assert owner.patch(f"/assets/{train}/versions/1.0.1", json={"status": "yanked"}).is_success

    train_py.write_text(original)
    third = load(source).release_to_gallery()
    assert by_name(third)["digits_train"] == ("1.0.0", True)
    assert (third.version, third.reused) == ("1.0.2", False)
    deps = ok(owner.get(f"/assets/{first.content_id}/versions/1.0.2"))["dependencies"]
    assert {"content_id": train, "version": "1.0.0"} in deps


def test_an_explicit_session_is_used(
    gallery: Gallery, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    owner, friend = gallery.user("sess"), gallery.user("friend")
    monkeypatch.setenv("GALLERY_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.delenv("GALLERY_TOKEN", raising=False)
    monkeypatch.setenv("GALLERY_CONFIG_DIR", str(tmp_path))
    example = load(EXAMPLE)
    with wf.Session(gallery.base_url, token_of(owner)) as session:
        workflow = wf.Workflow(
            name=example.name,
            desc=example.desc,
            steps=example.steps,
            storages=example.storages,
            policy=example.policy,
            session=session,
        )
        content_id, version = workflow.release_to_gallery(visibility="group")
        shared = wf.add_whitelist_users(
            content_id, version, [str(friend.username)], session=session
        )
        assert shared["principals"] == [friend.username]
        assert friend.get(f"/assets/{content_id}/versions/{version}").status_code == 200
        wf.delete_whitelist_users(content_id, version, [str(friend.username)], session=session)
        assert friend.get(f"/assets/{content_id}/versions/{version}").status_code == 404
    with pytest.raises(wf.ConfigurationError, match="cannot reach Gallery"):
        wf.add_whitelist_users(content_id, version, [str(friend.username)])


def test_title_and_description_of_a_release(owner: Client) -> None:
    release = load(EXAMPLE).release_to_gallery(title="Digits demo", desc="first public cut")
    asset = ok(owner.get(f"/assets/{release.content_id}"))
    assert (asset["name"], asset["title"]) == ("digits_pipeline", "Digits demo")
    published = ok(owner.get(f"/assets/{release.content_id}/versions/1.0.0"))
    assert published["description"] == "first public cut"


def test_one_algorithm_name_for_two_code_dirs_is_refused(owner: Client, tmp_path: Path) -> None:
    """Two different packages cannot both be the one algorithm asset ``shared``."""
    for folder, text in (("one", "print(1)\n"), ("two", "print(2)\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "main.py").write_text(text)
    steps = [
        wf.steps.JobStep(
            name=f"step_{folder}",
            algorithm=wf.BaseAlgorithm(
                name="shared", code_dir=tmp_path / folder, boot_file="main.py"
            ),
            outputs=wf.steps.JobOutput("out"),
        )
        for folder in ("one", "two")
    ]
    workflow = wf.Workflow(name="twins", steps=steps)
    with pytest.raises(wf.WorkflowDefinitionError) as caught:
        workflow.release_to_gallery()
    assert "'shared'" in str(caught.value)
    assert "step_one" in str(caught.value) and "step_two" in str(caught.value)
    assert own_algorithms(owner) == {}
