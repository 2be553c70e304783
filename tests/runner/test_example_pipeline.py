"""Issue 4's "done when", over the HTTP API: a second user imports the digits example another
user published, configures it, starts it, sees a failed step, fixes its parameter and retries
just that step, continues the waiting export step, and runs one scene alone."""

from __future__ import annotations

import json
from pathlib import Path

from tests.runner.conftest import Runtime
from tests.runner.flows import publish
from tests.sdk.support import copy_example, load
from tests.support.runner import step, step_is, wait_for


def test_a_second_user_runs_the_published_example_end_to_end(
    runtime: Runtime, tmp_path: Path
) -> None:
    author, user = runtime.gallery.user("author"), runtime.gallery.user("analyst")
    workflow = load(copy_example(tmp_path))
    content_id, version = publish(author, workflow)
    assert author.patch(f"/assets/{content_id}", json={"visibility": "public"}).status_code == 200
    # Versions published private must be public too: re-release as public.
    workflow.release_to_gallery(visibility="public")

    imported = user.post(
        "/workspaces/default/workflows",
        json={"content_id": content_id, "version": version, "name": "digits"},
    )
    assert imported.status_code == 201, imported.text
    workflow_id = imported.json()["id"]
    bad_config = user.put(
        f"/workflows/{workflow_id}/config", json={"placeholders": {"model_type": "tree"}}
    )
    assert bad_config.status_code == 422 and "model_type" in bad_config.text
    # Storage roots live in the analyst's own workspace namespace, /<user>/default/…
    outside = user.put(
        f"/workflows/{workflow_id}/config",
        json={"placeholders": {"c": -1.0}, "storages": {"output": "/results/digits/"}},
    )
    assert outside.status_code == 422, outside.text
    assert outside.json()["errors"][0]["field"] == "storages.output"
    assert outside.json()["errors"][0]["rule"] == "namespace"
    root = f"/{user.get('/me').json()['username']}/default/results/digits/"
    configured = user.put(
        f"/workflows/{workflow_id}/config",
        json={"placeholders": {"c": -1.0}, "storages": {"output": root}},
    )
    assert configured.status_code == 200, configured.text

    started = user.post(f"/workflows/{workflow_id}/executions", json={})
    assert started.status_code == 201, started.text
    execution_id = started.json()["id"]
    failed = wait_for(user, execution_id, lambda e: e["status"] == "failed", timeout=300)
    train = step(failed, "train")
    assert train["status"] == "failed" and train["attempt"] == 2  # max_retries=1
    assert "C" in train["error"]  # scikit-learn's own complaint about C, from the log tail
    assert step(failed, "prepare")["status"] == "succeeded"

    retried = user.post(
        f"/executions/{execution_id}/steps/train/retry", json={"parameters": {"c": 1.0}}
    )
    assert retried.status_code == 200, retried.text
    waiting = wait_for(
        user, execution_id, lambda e: e["status"] in ("waiting_input", "failed"), timeout=300
    )
    assert waiting["status"] == "waiting_input", waiting
    assert step(waiting, "prepare")["attempt"] == 1  # only the failed step ran again
    # a float placeholder stays a float (1.0, not 1) in the run's values and the step's
    for shown in (waiting["parameters"]["c"], step(waiting, "train")["parameters"]["c"]):
        assert type(shown) is float and shown == 1.0, waiting
    assert step(waiting, "good_enough")["outputs"] == {"result": True}
    assert step(waiting, "report")["status"] == "skipped"
    export = step(waiting, "export")
    assert [w["name"] for w in export["waiting_for"]] == ["release_name"]
    assert [t["step"] for t in user.get("/todo").json()] == ["export"]

    continued = user.post(
        f"/executions/{execution_id}/steps/export/continue",
        json={"inputs": {"release_name": "digits-v1"}},
    )
    assert continued.status_code == 200, continued.text
    done = wait_for(user, execution_id, timeout=300)
    assert done["status"] == "succeeded", done
    accuracy = step(done, "train")["metrics"]["metrics"][0]
    assert accuracy["key"] == "accuracy" and accuracy["data"]["value"] > 0.9
    release = step(done, "export")["outputs"]["release"]
    assert release.startswith(f"{root}{execution_id}/")
    if runtime.gallery.settings.s3_endpoint is None:
        card = runtime.gallery.settings.data_dir / "blobs" / "objects"
        card = card.joinpath(*[p for p in release.split("/") if p]) / "card.json"
        assert json.loads(card.read_text())["name"] == "digits-v1"

    # The fix goes into the saved configuration too, for the runs that follow.
    user.put(
        f"/workflows/{workflow_id}/config",
        json={"placeholders": {"c": 1.0}, "storages": {"output": root}},
    ).raise_for_status()
    scene = user.post(
        f"/workflows/{workflow_id}/executions",
        json={"scene": "train_and_export", "parameters": {"model_type": "logreg"}},
    )
    assert scene.status_code == 201, scene.text
    scene_id = scene.json()["id"]
    assert [s["name"] for s in scene.json()["steps"]] == [
        "train",
        "good_enough",
        "export",
        "report",
    ]
    wait_for(
        user,
        scene_id,
        lambda e: e["status"] == "failed" or step_is("export", "waiting_input", "skipped")(e),
        timeout=300,
    )
    scene_run = user.get(f"/executions/{scene_id}").json()
    if step(scene_run, "export")["status"] == "waiting_input":
        user.post(
            f"/executions/{scene_id}/steps/export/continue",
            json={"inputs": {"release_name": "digits-logreg"}},
        ).raise_for_status()
    scene_done = wait_for(user, scene_id, timeout=300)
    assert scene_done["status"] == "succeeded", scene_done
    # The scene read the data the first run's prepare step made.
    assert step(scene_done, "train")["inputs"]["data"] == step(done, "prepare")["outputs"]["data"]
    assert scene_done["parameters"]["model_type"] == "logreg"
