"""``gallery publish FILE.py[:VAR]`` as a user runs it: progress, the result, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sdk.support import EXAMPLE, REPO
from tests.support.gallery import Client, Gallery
from tests.support.server import free_port

GALLERY = str(Path(sys.executable).with_name("gallery"))
EXAMPLE_ARG = str(EXAMPLE.relative_to(REPO))  # as typed in the repository root


def gallery_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GALLERY, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def environment(url: str, token: str | None, config: Path) -> dict[str, str]:
    env = {**os.environ, "GALLERY_URL": url, "GALLERY_CONFIG_DIR": str(config)}
    env.pop("GALLERY_TOKEN", None)
    if token is not None:
        env["GALLERY_TOKEN"] = token
    return env


def personal_token(client: Client) -> str:
    answer = client.post("/tokens", json={"name": "publish-test"})
    assert answer.status_code == 201, answer.text
    token = str(answer.json()["token"])
    assert token.startswith("gly_")
    return token


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_publish_the_example_shared_with_a_group(gallery: Gallery, tmp_path: Path) -> None:
    group = gallery.group("cli")
    owner = gallery.user("cli")
    member = gallery.user("member", groups=(group,))
    env = environment(gallery.base_url, personal_token(owner), tmp_path)
    args = ["publish", EXAMPLE_ARG, "--visibility", "group", "--group-users", f"group:{group}"]

    done = gallery_cli(env, *args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    code = str(EXAMPLE.parent / "algorithms")
    for name in ("digits_prepare", "digits_train", "digits_export", "digits_report"):
        assert f"packing algorithm {name!r} from {code}" in lines
        assert any(
            re.fullmatch(rf"published algorithm {name!r} 1\.0\.0 \(4 files, \d+ bytes\)", ln)
            for ln in lines
        ), lines
    assert "published workflow 'digits_pipeline' 1.0.0" in lines
    assert f"shared 1.0.0 with group:{group}" in lines
    final = re.fullmatch(r"workflow digits_pipeline: (\S+)@1\.0\.0 \(first release\)", lines[-1])
    assert final, lines[-1]
    content_id = final.group(1)
    assert lines.index("published workflow 'digits_pipeline' 1.0.0") < len(lines) - 1

    readable = member.get(f"/assets/{content_id}/versions/1.0.0")
    assert readable.status_code == 200, readable.text
    for dependency in readable.json()["dependencies"]:
        path = f"/assets/{dependency['content_id']}/versions/{dependency['version']}"
        assert member.get(path).status_code == 200

    again = gallery_cli(env, *args, "--desc", "no changes")
    assert again.returncode == 0, again.stderr
    assert "algorithm 'digits_train' unchanged: reusing 1.0.0" in again.stdout
    assert "workflow 'digits_pipeline' unchanged: reusing 1.0.0" in again.stdout
    assert (
        again.stdout.splitlines()[-1] == f"workflow digits_pipeline: {content_id}@1.0.0 (unchanged)"
    )


def test_publish_with_a_named_variable(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("cli")
    env = environment(gallery.base_url, personal_token(owner), tmp_path)
    done = gallery_cli(env, "publish", f"{EXAMPLE_ARG}:workflow", "--version", "0.1.0")
    assert done.returncode == 0, done.stderr
    assert re.search(r"digits_pipeline: \S+@0\.1\.0 \(first release\)$", done.stdout.strip())


def test_publish_refused_by_the_server_is_one_line(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("cli")
    env = environment(gallery.base_url, personal_token(owner), tmp_path)
    assert gallery_cli(env, "publish", EXAMPLE_ARG).returncode == 0
    line = one_line_error(gallery_cli(env, "publish", EXAMPLE_ARG, "--version", "1.0.0"))
    assert line.startswith("error: publishing workflow 'digits_pipeline' failed: ")
    assert "already exists" in line and "(HTTP 409)" in line


def test_publish_without_a_token_is_one_line(gallery: Gallery, tmp_path: Path) -> None:
    env = environment(gallery.base_url, None, tmp_path)
    line = one_line_error(gallery_cli(env, "publish", EXAMPLE_ARG))
    assert "workflow 'digits_pipeline'" in line and "(HTTP 401)" in line


# --- files that cannot be published: refused before the server is contacted -------------------


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    """An environment whose server does not exist: these errors must not need one."""
    return environment(f"http://127.0.0.1:{free_port()}", "gly_unused", tmp_path / "config")


def test_unknown_variable(offline: dict[str, str]) -> None:
    line = one_line_error(gallery_cli(offline, "publish", f"{EXAMPLE_ARG}:nosuchvar"))
    assert line == f"error: {EXAMPLE_ARG} has no wf.Workflow named 'nosuchvar'"


def test_missing_file(offline: dict[str, str], tmp_path: Path) -> None:
    line = one_line_error(gallery_cli(offline, "publish", str(tmp_path / "gone.py")))
    assert line == f"error: no such file: {tmp_path / 'gone.py'}"


def test_not_a_python_file(offline: dict[str, str]) -> None:
    line = one_line_error(gallery_cli(offline, "publish", "workflow.yaml"))
    assert "give a Python file" in line


def write(tmp_path: Path, name: str, body: str) -> str:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "main.py").write_text("print('hi')\n")
    path = tmp_path / name
    path.write_text("from pathlib import Path\n\nimport sdk as wf\n\n" + body)
    return str(path)


JOB = """wf.steps.JobStep(
    name={name!r},
    algorithm=wf.BaseAlgorithm(code_dir=Path(__file__).parent / "code", boot_file="main.py"),
    outputs=wf.steps.JobOutput("out"),
)"""


def test_definition_error_at_compile_names_the_culprit(
    offline: dict[str, str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "dup.py",
        f"workflow = wf.Workflow(name='dup', steps=[{JOB.format(name='train')}, "
        f"{JOB.format(name='train')}])\n",
    )
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line == "error: workflow 'dup': duplicate step name 'train'"


def test_out_of_range_setting_names_the_step(offline: dict[str, str], tmp_path: Path) -> None:
    policy = "\n    policy=wf.steps.StepPolicy(max_execution_minutes=0),"
    step = JOB.format(name="slow").replace('JobOutput("out"),', 'JobOutput("out"),' + policy)
    assert policy in step
    path = write(tmp_path, "slow.py", f"workflow = wf.Workflow(name='slow', steps=[{step}])\n")
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line.startswith("error: step 'slow': ") and "max_execution_minutes" in line


def test_definition_error_at_import_names_the_culprit(
    offline: dict[str, str], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "badname.py",
        "rate = wf.Placeholder('learning rate', wf.PlaceholderType.FLOAT)\n",
    )
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line.startswith("error: placeholder name 'learning rate' is not valid")


def test_a_file_that_raises_on_import(offline: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "boom.py", "raise RuntimeError('no data set here')\n")
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line == f"error: cannot load {path}: RuntimeError: no data set here"


def test_a_file_with_a_syntax_error(offline: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "workflow = (\n")
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line.startswith(f"error: cannot load {path}: SyntaxError: ")


def test_two_workflows_need_a_variable(offline: dict[str, str], tmp_path: Path) -> None:
    body = (
        f"first = wf.Workflow(name='first', steps=[{JOB.format(name='a')}])\n"
        f"second = wf.Workflow(name='second', steps=[{JOB.format(name='b')}])\n"
    )
    path = write(tmp_path, "two.py", body)
    line = one_line_error(gallery_cli(offline, "publish", path))
    assert line == (
        f"error: {path} defines 2 workflows (first, second); name one as FILE.py:VARIABLE"
    )
    none = write(tmp_path, "none.py", "x = 1\n")
    assert "defines 0 workflows (none)" in one_line_error(gallery_cli(offline, "publish", none))
