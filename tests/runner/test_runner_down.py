"""When Temporal cannot be reached, starting a run is a clear 503 and loses nothing: the record
says why, and the next start is not blocked by it."""

from __future__ import annotations

from pathlib import Path

import sdk as wf
from tests.runner.flows import imported, job, tool_dir
from tests.support.databases import sqlite_url
from tests.support.gallery import fast_settings, running_gallery
from tests.support.server import free_port


def test_starting_without_temporal_is_a_503_and_the_record_says_why(tmp_path: Path) -> None:
    settings = fast_settings(
        data_dir=tmp_path,
        database_url=sqlite_url(tmp_path),
        temporal_address=f"127.0.0.1:{free_port()}",  # nothing listens there
    )
    with running_gallery(settings, "sqlite") as gallery:
        client = gallery.user()
        workflow_id = imported(
            client, wf.Workflow(name="lonely", desc="", steps=[job("a", tool_dir(tmp_path))])
        )
        for number in (1, 2):
            answer = client.post(f"/workflows/{workflow_id}/executions", json={})
            assert answer.status_code == 503
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert "Temporal" in answer.json()["detail"]
            runs = client.get(f"/workflows/{workflow_id}/executions").json()
            assert runs[0]["name"] == f"execution-00{number}"
            assert runs[0]["status"] == "failed"
            record = client.get(f"/executions/{runs[0]['id']}").json()
            assert "cannot be reached" in record["error"]
