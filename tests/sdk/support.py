"""Helpers for SDK tests: copies of the digits example, loading workflow files, credentials."""

from __future__ import annotations

import re
import runpy
import shutil
from pathlib import Path

import httpx

import sdk as wf

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO / "sdk" / "examples" / "digits"
EXAMPLE = EXAMPLE_DIR / "workflow.py"
ALGORITHM_FILES = ("prepare", "train", "export", "report")


def token_of(client: httpx.Client) -> str:
    return str(client.headers["Authorization"]).split(" ", 1)[1]


def load(path: Path, variable: str = "workflow") -> wf.Workflow:
    """Run a workflow file as ``gallery publish`` does and take its workflow."""
    workflow = runpy.run_path(str(path))[variable]
    assert isinstance(workflow, wf.Workflow)
    return workflow


def copy_example(tmp_path: Path) -> Path:
    """A private copy of the digits example; returns its ``workflow.py``."""
    folder = tmp_path / "digits"
    shutil.copytree(EXAMPLE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder / "workflow.py"


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence of ``old`` (a user editing the file)."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


def split_example(tmp_path: Path) -> Path:
    """The example with one code directory per algorithm (``algorithms/<name>/<name>.py``), so
    editing one algorithm leaves the others' packages alone; returns its ``workflow.py``."""
    source = copy_example(tmp_path)
    text, count = re.subn(
        r'code_dir=CODE,(\s*)boot_file="(\w+)\.py"',
        r'code_dir=CODE / "\2",\1boot_file="\2.py"',
        source.read_text(),
    )
    assert count == len(ALGORITHM_FILES), count
    source.write_text(text)
    algorithms = source.parent / "algorithms"
    for name in ALGORITHM_FILES:
        (algorithms / name).mkdir()
        (algorithms / f"{name}.py").rename(algorithms / name / f"{name}.py")
    return source
