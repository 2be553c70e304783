"""The ``gallery`` command's own manners: help, version, every verb's summary, a closed pipe,
prompts without a terminal, shell completion. No server is needed for any of these."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from sdk import cli

GALLERY = str(Path(sys.executable).with_name("gallery"))


def gallery(*args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([GALLERY, *args], input=stdin, capture_output=True, text=True, timeout=60)


def every_verb() -> list[str]:
    return sorted({*cli._commands(), *cli._server_commands()})


def test_no_arguments_prints_help_and_succeeds() -> None:
    done = gallery()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: gallery COMMAND")
    for verb in every_verb():
        assert re.search(rf"^  {re.escape(verb)}\s+\S", done.stdout, re.M), verb


def test_version() -> None:
    expected = f"gallery {metadata.version('gallery')}"
    for flag in ("--version", "-V"):
        done = gallery(flag)
        assert (done.returncode, done.stdout.strip()) == (0, expected)


def test_unknown_verb_is_one_line_and_exit_2() -> None:
    done = gallery("frobnicate")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown command 'frobnicate'; see 'gallery --help'"
    ]


@pytest.mark.parametrize("verb", every_verb())
def test_every_verb_has_help_with_a_summary(verb: str) -> None:
    done = gallery(verb, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: gallery {verb}")
    # argparse puts the description after the usage lines, before the arguments
    paragraphs = [p for p in done.stdout.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2
    summary = paragraphs[1].strip()
    assert not summary.startswith(("positional arguments", "options")), done.stdout
    assert len(summary) > 10


def test_a_closed_pipe_ends_quietly() -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written (`gallery … | head -0`)
    try:
        done = subprocess.run([GALLERY, "--help"], stdout=write, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write)
    assert done.stderr == b""
    assert done.returncode == 141


@pytest.mark.parametrize(
    "args",
    [
        ("login", "--url", "http://127.0.0.1:9", "-u", "alice"),
        ("user", "create", "alice"),
    ],
    ids=["login", "user-create"],
)
def test_a_password_prompt_without_a_terminal_is_one_clear_line(args: tuple[str, ...]) -> None:
    done = gallery(*args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no terminal to ask for the password on: pipe it in with --password-stdin"
    ]


def complete(*words: str) -> list[str]:
    done = gallery("__complete", str(len(words)), *words)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_words() -> None:
    assert complete("st") == ["status", "stop"]
    assert set(complete("")) >= set(every_verb())
    assert complete("login", "--pass") == ["--password", "--password-stdin"]
    assert complete("user", "") == sorted(
        ["--help", "create", "deactivate", "reactivate", "set-password"]
    )
    assert "--admin" in complete("user", "create", "--")
    assert complete("completion", "") == ["bash", "zsh"]


def test_bash_completion_script_completes_verbs() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = gallery("completion", "bash").stdout
    probe = (
        script
        + "COMP_WORDS=(gallery lo); COMP_CWORD=1; _gallery_complete;"
        + ' printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(GALLERY).parent}:{os.environ['PATH']}"}
    done = subprocess.run([bash, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["login", "logs"]


def test_zsh_completion_script() -> None:
    script = gallery("completion", "zsh").stdout
    assert script.startswith("#compdef gallery\n")
    assert "gallery __complete" in script
    zsh = shutil.which("zsh")
    if zsh is not None:  # syntax-checked where zsh is installed
        done = subprocess.run([zsh, "-n", "-c", script], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_completion_needs_a_known_shell() -> None:
    done = gallery("completion", "fish")
    assert done.returncode == 2
    assert "usage: gallery completion bash|zsh" in done.stderr


def test_python_dash_m_sdk_is_the_gallery_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sdk", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"gallery {metadata.version('gallery')}")


def test_the_sdk_is_typed() -> None:
    import sdk

    assert (Path(sdk.__file__).parent / "py.typed").is_file()
