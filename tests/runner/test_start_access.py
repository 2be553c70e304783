"""Access is checked when it is used (DESIGN.md §2): every start of an execution asks again
whether the workspace's owner may use each version the workflow pins. Revoking, yanking or
deleting one refuses the start with a 403 listing the blockers; nothing is started."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import job, shared_import, tool_dir
from tests.support.runner import wait_for


@pytest.mark.parametrize("change", ["private", "yanked", "deleted"])
def test_a_start_is_refused_once_a_pinned_version_is_taken_back(
    runtime: Runtime, tmp_path: Path, change: str
) -> None:
    publisher, user = runtime.gallery.user("pub"), runtime.gallery.user("use")
    workflow = wf.Workflow(name="pinned", desc="", steps=[job("only", tool_dir(tmp_path))])
    release, imported = shared_import(publisher, user, workflow, visibility="public")
    workflow_id = imported["id"]
    algorithm = imported["spec"]["steps"][0]["properties"]["algorithm"]
    url = f"/workflows/{workflow_id}/executions"
    first = user.post(url, json={})
    assert first.status_code == 201, first.text
    assert wait_for(user, first.json()["id"])["status"] == "succeeded"

    if change == "private":
        answer = publisher.patch(
            f"/assets/{algorithm['content_id']}", json={"visibility": "private"}
        )
        blocker = (algorithm["content_id"], "no longer shared with the workspace's owner")
    elif change == "yanked":
        answer = publisher.patch(
            f"/assets/{algorithm['content_id']}/versions/{algorithm['version']}",
            json={"status": "yanked"},
        )
        blocker = (algorithm["content_id"], "yanked")
    else:
        answer = publisher.delete(f"/assets/{release.content_id}")
        blocker = (release.content_id, "deleted")
    assert answer.status_code in (200, 204), answer.text

    refused = user.post(url, json={})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert blocker in [(b["content_id"], b["reason"]) for b in body["blockers"]], body
    assert blocker[0] in body["detail"]
    assert [e["id"] for e in user.get(url).json()] == [first.json()["id"]]  # nothing started

    if change == "private":  # shared again: it runs again
        publisher.patch(
            f"/assets/{algorithm['content_id']}", json={"visibility": "public"}
        ).raise_for_status()
        again = user.post(url, json={})
        assert again.status_code == 201, again.text
        assert wait_for(user, again.json()["id"])["status"] == "succeeded"
