"""Releasing again without a visibility keeps the one the assets have: a public workflow and
its algorithms stay public (only a first release is private by default), over the real stack."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import sdk as wf
from sdk._publish import Release, release_to_gallery
from tests.sdk.support import token_of
from tests.support.gallery import Client, Gallery

GALLERY = str(Path(sys.executable).with_name("gallery"))
TOOL = "import sys\nprint('tool', sys.argv[1:])\n"


def code_dir(root: Path, name: str, body: str = TOOL) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(body)
    return folder


def pipeline(root: Path, desc: str = "first") -> wf.Workflow:
    """Two job steps, each running its own local algorithm (``prep`` and ``fit``)."""
    steps = []
    for name in ("prep", "fit"):
        steps.append(
            wf.steps.JobStep(
                name=name,
                algorithm=wf.BaseAlgorithm(
                    name=name,
                    code_dir=root / name,
                    boot_file="main.py",
                    parameters=[wf.AlgorithmParameters(name="label", value=name)],
                ),
                depend_steps=steps[-1:],
            )
        )
    return wf.Workflow(name="visible_pipeline", desc=desc, steps=steps)


@pytest.fixture
def owner(gallery: Gallery) -> Client:
    return gallery.user("owner")


@pytest.fixture
def code(tmp_path: Path) -> Path:
    for name in ("prep", "fit"):
        code_dir(tmp_path / "code", name)
    return tmp_path / "code"


def release(gallery: Gallery, owner: Client, workflow: wf.Workflow, **kwargs: Any) -> Release:
    with wf.Session(gallery.base_url, token_of(owner)) as session:
        return release_to_gallery(workflow, session, **kwargs)


def visibilities(owner: Client, done: Release) -> dict[str, str]:
    """The visibility of the workflow asset and of each of its algorithms, by name."""
    found = {"workflow": owner.get(f"/assets/{done.content_id}").json()["visibility"]}
    for algorithm in done.algorithms:
        answer = owner.get(f"/assets/{algorithm.content_id}")
        assert answer.status_code == 200, answer.text
        found[algorithm.name] = answer.json()["visibility"]
    return found


def everything(visibility: str) -> dict[str, str]:
    return {"workflow": visibility, "prep": visibility, "fit": visibility}


def test_releasing_again_without_visibility_keeps_public(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    first = release(gallery, owner, pipeline(code), visibility="public")
    assert visibilities(owner, first) == everything("public")

    # New code for one algorithm and a new description: new versions, same visibility.
    code_dir(code, "fit", TOOL + "print('fitted')\n")
    second = release(gallery, owner, pipeline(code, desc="second"))
    assert (second.content_id, second.reused) == (first.content_id, False)
    assert second.version != first.version
    assert {a.name: a.reused for a in second.algorithms} == {"prep": True, "fit": False}
    assert visibilities(owner, second) == everything("public")

    # Nothing changed at all: everything reused, still public.
    third = release(gallery, owner, pipeline(code, desc="second"))
    assert third.reused and third.version == second.version
    assert visibilities(owner, third) == everything("public")

    # So others still read the new version and what it runs.
    reader = gallery.user("reader")
    read = reader.get(f"/assets/{second.content_id}/versions/{second.version}")
    assert read.status_code == 200, read.text
    for dependency in read.json()["dependencies"]:
        path = f"/assets/{dependency['content_id']}/versions/{dependency['version']}"
        assert reader.get(path).status_code == 200, dependency


def test_releasing_by_content_id_without_visibility_keeps_it(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    first = release(gallery, owner, pipeline(code), visibility="public")
    again = release(gallery, owner, pipeline(code, desc="again"), content_id=first.content_id)
    assert again.content_id == first.content_id and not again.reused
    assert visibilities(owner, again) == everything("public")


def test_a_first_release_without_visibility_is_private(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    done = release(gallery, owner, pipeline(code))
    assert visibilities(owner, done) == everything("private")
    assert gallery.user("reader").get(f"/assets/{done.content_id}").status_code == 404


def test_group_stays_group_and_an_explicit_visibility_still_changes_it(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    friend = gallery.user("friend")
    first = release(
        gallery, owner, pipeline(code), visibility="group", group_users=[friend.username or ""]
    )
    assert visibilities(owner, first) == everything("group")
    second = release(gallery, owner, pipeline(code, desc="second"))
    assert visibilities(owner, second) == everything("group")
    # The earlier version stays shared; a new one is shared when its owner says so.
    assert friend.get(f"/assets/{first.content_id}/versions/{first.version}").status_code == 200

    made_private = release(gallery, owner, pipeline(code, desc="third"), visibility="private")
    assert visibilities(owner, made_private) == everything("private")
    made_public = release(gallery, owner, pipeline(code, desc="fourth"), visibility="public")
    assert visibilities(owner, made_public) == everything("public")


def test_an_unknown_visibility_is_refused_before_anything_is_published(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    with pytest.raises(wf.WorkflowDefinitionError, match="visibility must be one of"):
        release(gallery, owner, pipeline(code), visibility="friends")
    with pytest.raises(wf.WorkflowDefinitionError, match="visibility='group'"):
        release(gallery, owner, pipeline(code), group_users=["someone"])
    mine = owner.get("/assets", params={"owner": owner.username}).json()
    assert mine["items"] == []


def test_workflow_method_releasing_again_keeps_public(
    gallery: Gallery, owner: Client, code: Path
) -> None:
    workflow = pipeline(code)
    workflow.session = wf.Session(gallery.base_url, token_of(owner))
    first = workflow.release_to_gallery(visibility="public")
    again = pipeline(code, desc="again")
    again.session = workflow.session
    second = again.release_to_gallery()
    assert visibilities(owner, second) == everything("public")
    assert first.content_id == second.content_id


def test_gallery_publish_again_keeps_public(
    gallery: Gallery, owner: Client, code: Path, tmp_path: Path
) -> None:
    source = tmp_path / "pipeline.py"
    source.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            from pathlib import Path
            from tests.registry.test_release_visibility import pipeline
            workflow = pipeline(Path({str(code)!r}), desc="from the shell")
            """
        )
    )
    env = {
        **os.environ,
        "GALLERY_URL": gallery.base_url,
        "GALLERY_TOKEN": token_of(owner),
        "GALLERY_CONFIG_DIR": str(tmp_path / "config"),
    }

    def publish(*args: str) -> str:
        done = subprocess.run(
            [GALLERY, "publish", str(source), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    publish("--visibility", "public")
    publish("--desc", "again")
    assets = owner.get("/assets", params={"owner": owner.username}).json()["items"]
    assert {a["name"]: a["visibility"] for a in assets} == {
        "visible_pipeline": "public",
        "prep": "public",
        "fit": "public",
    }
