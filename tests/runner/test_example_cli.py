"""Issue 4's "done when", from the command line: a second user imports the published digits
example, runs it with a bad parameter, retries the failed step with a fixed one, continues the
waiting export step, and runs one scene alone."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.runner.conftest import Runtime
from tests.runner.flows import publish
from tests.runner.test_cli_run import Gallery, client, gallery, started_id
from tests.sdk.support import copy_example, load
from tests.support.runner import step

__all__ = ["client", "gallery"]  # fixtures shared with test_cli_run


def test_the_example_from_the_cli(
    runtime: Runtime, client: httpx.Client, gallery: Gallery, tmp_path: Path
) -> None:
    author = runtime.gallery.user("author")
    workflow = load(copy_example(tmp_path))
    content_id, version = publish(author, workflow)
    workflow.release_to_gallery(visibility="public")

    imported = gallery("import", f"{content_id}@{version}", "--name", "digits")
    assert imported.code == 0, imported.err

    failed = gallery("run", "digits", "--param", "c=-1", "--follow")
    assert failed.code == 1, failed.out + failed.err
    execution_id = started_id(failed)
    assert "  train: failed" in failed.out
    assert "gallery retry digits/execution-001 train" in failed.out

    retried = gallery("retry", execution_id, "train", "--param", "c=1.0", "--follow")
    assert retried.code == 0, retried.out + retried.err
    assert "export: waiting_input" in retried.out
    assert "gallery continue digits/execution-001 export --input release_name=" in retried.out

    continued = gallery(
        "continue", execution_id, "export", "--input", "release_name=digits-v1", "--follow"
    )
    assert continued.code == 0, continued.out + continued.err
    assert "digits/execution-001: succeeded" in continued.out
    done = client.get(f"/executions/{execution_id}").json()
    assert step(done, "train")["attempt"] == 3  # two failed attempts, then the retry
    assert step(done, "report")["status"] == "skipped"

    scene = gallery("run", "digits", "--scene", "train_and_export", "--param", "c=1.0", "--follow")
    assert scene.code == 0, scene.out + scene.err
    scene_id = started_id(scene)
    assert scene_id != execution_id
    continued = gallery(
        "continue", scene_id, "export", "--input", "release_name=digits-v2", "--follow"
    )
    assert continued.code == 0, continued.out + continued.err
    assert "digits/execution-002: succeeded" in continued.out
    shown = client.get(f"/executions/{scene_id}").json()
    assert [s["name"] for s in shown["steps"]] == ["train", "good_enough", "export", "report"]
    assert shown["scene"] == "train_and_export"
