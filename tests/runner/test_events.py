"""Server-sent events on the real stack: an execution's changes as they happen, the to-do
list, and who may listen (DESIGN.md §5: the stream the pages, ``--follow`` and the SDK use)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdk._session import Session, parse_events
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, start, tool_dir
from tests.runner.test_semantics import delayed_flow
from tests.support.gallery import Client
from tests.support.runner import wait_for


def test_parse_events_follows_the_format() -> None:
    lines = [
        ": a comment",
        "event: execution",
        'data: {"a":',
        "data: 1}",
        "",
        "data: plain",
        "",
        "retry: 10",
        "event: end",
        "data:x",
        "",
        "event: unfinished",
    ]
    assert list(parse_events(lines)) == [
        ("execution", '{"a":\n1}'),
        ("message", "plain"),
        ("end", "x"),
    ]


def token_of(client: Client) -> str:
    return str(client.headers["authorization"]).removeprefix("Bearer ")


class Listener:
    """Reads an event stream in a thread, keeping every event."""

    def __init__(self, base_url: str, token: str, path: str) -> None:
        self.events: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        self.error: BaseException | None = None
        self._session = Session(base_url, token)
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()

    def _read(self, path: str) -> None:
        try:
            for event, data in self._session.events(path):
                with self.changed:
                    self.events.append((event, json.loads(data)))
                    self.changed.notify_all()
        except BaseException as exc:  # seen by the test
            self.error = exc
        finally:
            with self.changed:
                self.events.append(("closed", None))
                self.changed.notify_all()

    def wait_for(self, test: Any, timeout: float = 60) -> tuple[str, Any]:
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((e for e in self.events if test(e)), None), timeout
            )
        assert found, f"no such event; got {[e[0] for e in self.events]} ({self.error})"
        return next(e for e in self.events if test(e))

    def close(self) -> None:
        self._session.close()


def status_is(status: str) -> Any:
    return lambda e: e[0] == "execution" and e[1]["status"] == status


def test_the_stream_shows_each_change_and_ends_with_the_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    workflow_id = imported(client, delayed_flow(tool_dir(tmp_path)))
    execution = start(client, workflow_id)
    base = runtime.gallery.base_url
    todo = Listener(base, token_of(client), "/todo/events")
    events = Listener(base, token_of(client), f"/executions/{execution['id']}/events")
    try:
        first = events.wait_for(lambda e: True)
        assert events.error is None, events.error
        assert first[0] == "execution" and first[1]["id"] == execution["id"]
        waiting = events.wait_for(status_is("waiting_input"))[1]
        gate = next(s for s in waiting["steps"] if s["name"] == "gate")
        assert [w["name"] for w in gate["waiting_for"]] == ["label"]
        listed = todo.wait_for(lambda e: e[0] == "todo" and e[1]["count"] == 1)[1]
        assert listed["items"][0]["step"] == "gate"

        answer = client.post(
            f"/executions/{execution['id']}/steps/gate/continue", json={"inputs": {"label": "yes"}}
        )
        assert answer.status_code == 200, answer.text
        done = events.wait_for(status_is("succeeded"))[1]
        assert {s["name"]: s["status"] for s in done["steps"]} == {
            "first": "succeeded",
            "gate": "succeeded",
        }
        end = events.wait_for(lambda e: e[0] == "end")[1]
        assert end == {"status": "succeeded"}
        events.wait_for(lambda e: e[0] == "closed")
        assert events.error is None
        todo.wait_for(lambda e: e[0] == "todo" and e[1]["count"] == 0)
        # Every event in between was a real change: no two equal states in a row.
        states = [json.dumps(e[1], sort_keys=True) for e in events.events if e[0] == "execution"]
        assert all(a != b for a, b in itertools.pairwise(states))
        assert len(states) >= 2  # waiting (maybe after running), then succeeded
    finally:
        events.close()
        todo.close()


def test_a_closed_run_sends_its_state_then_ends(runtime: Runtime, tmp_path: Path) -> None:
    client = runtime.gallery.user()
    workflow_id = imported(client, delayed_flow(tool_dir(tmp_path)))
    execution = start(client, workflow_id)
    wait_for(client, execution["id"], lambda e: e["status"] == "waiting_input")
    assert client.post(f"/executions/{execution['id']}/stop").status_code == 200
    wait_for(client, execution["id"], lambda e: e["status"] == "stopped")
    with httpx.stream(
        "GET",
        f"{runtime.gallery.base_url}/api/v1/executions/{execution['id']}/events",
        headers={"authorization": f"Bearer {token_of(client)}"},
        timeout=30,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        got = list(parse_events(answer.iter_lines()))
    assert [e for e, _ in got] == ["execution", "end"]
    assert json.loads(got[0][1])["status"] == "stopped"


@pytest.mark.parametrize("path", ["/executions/{id}/events", "/todo/events"])
def test_only_members_may_listen(runtime: Runtime, tmp_path: Path, path: str) -> None:
    owner = runtime.gallery.user()
    workflow_id = imported(owner, delayed_flow(tool_dir(tmp_path)))
    execution = start(owner, workflow_id)
    url = runtime.gallery.base_url + "/api/v1" + path.replace("{id}", execution["id"])
    assert httpx.get(url, timeout=10).status_code == 401
    if "{id}" in path:
        other = runtime.gallery.user()
        refused = httpx.get(url, headers={"authorization": f"Bearer {token_of(other)}"}, timeout=10)
        assert refused.status_code == 404  # as for an execution that does not exist
    owner.post(f"/executions/{execution['id']}/stop")
