"""``gallery next`` and ``gallery experiments``: stepping through a debug run and looking at
experiments from the shell, against a real server, Temporal dev server and worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import sdk as wf
from tests.conftest import Runtime
from tests.runner.flows import tool_dir
from tests.runner.test_development import chain
from tests.sdk.support import token_of
from tests.support.cli import Shell, shell_for


@pytest.fixture
def shell_of(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[[httpx.Client], Shell]:
    return shell_for(runtime.gallery.base_url, monkeypatch, capsys, tmp_path / "config")


def test_next_steps_through_a_debug_run_and_experiments_list_it(
    runtime: Runtime, shell_of: Callable[[httpx.Client], Shell], tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    gallery = shell_of(client)
    workflow = chain(tool_dir(tmp_path), name="cli_debug")
    workflow.session = wf.Session(runtime.gallery.base_url, token_of(client))
    run = workflow.debug(experiment_id="from the shell", emit=lambda _: None)
    label = f"cli_debug/{run.name}"

    first = gallery("next", label, "--follow")
    assert first.code == 0, first
    assert "started step 'a'" in first.out
    assert f"gallery next {label}" in first.out  # the run paused again: what to do next
    assert gallery("next", label, "--step", "b", "--follow").code == 0

    refused = gallery("next", label)
    assert refused.code != 0
    assert "needs a value for label" in refused.err, refused
    typo = gallery("next", label, "-p", "nope=1")
    assert typo.code != 0 and "no placeholder 'nope'" in typo.err, typo

    done = gallery("next", label, "-p", "label=shell", "--follow")
    assert done.code == 0, done
    assert run.refresh().status == "succeeded"
    assert run.step("c").parameters["label"] == "shell"

    listed = gallery("experiments")
    assert listed.code == 0 and "from the shell" in listed.out, listed
    runs = gallery("experiments", "from the shell")
    assert runs.code == 0 and label in runs.out and "succeeded" in runs.out, runs
    compared = gallery("experiments", "from the shell", "--compare")
    assert compared.code == 0 and "a.score" in compared.out, compared
    missing = gallery("experiments", "nope")
    assert missing.code != 0 and "no experiment 'nope'" in missing.err
    assert gallery("experiments", "from the shell", "--delete").code == 0
    assert "from the shell" not in gallery("experiments").out
    assert run.refresh().data["experiment"] is None  # the run stays, outside any experiment
