"""``pack()`` makes reproducible packages: same files in, same bytes and sha256 out."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

import sdk as wf
from sdk._packaging import pack


def make_code(root: Path) -> Path:
    code = root / "code"
    (code / "lib" / "deep").mkdir(parents=True)
    (code / "train.py").write_text("print('train')\n")
    (code / "run.sh").write_text("#!/bin/sh\necho run\n")
    (code / "run.sh").chmod(0o755)
    (code / "lib" / "__init__.py").write_text("")
    (code / "lib" / "deep" / "util.py").write_text("X = 1\n")
    (code / "B.txt").write_text("upper case sorts first\n")
    return code


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def names(data: bytes) -> list[str]:
    return [m.name for m in members(data)]


def test_same_directory_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    first, second = pack(code), pack(code)
    assert first.data == second.data
    assert first.sha256 == second.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.files == 5


def test_a_copy_elsewhere_gives_the_same_bytes(tmp_path: Path) -> None:
    one = make_code(tmp_path / "one")
    two = make_code(tmp_path / "two")
    assert pack(one).sha256 == pack(two).sha256


def test_mtimes_do_not_matter(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    before = pack(code).sha256
    for path in code.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    assert pack(code).sha256 == before


def test_only_executability_of_the_mode_matters(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    before = pack(code).sha256
    (code / "train.py").chmod(0o600)
    (code / "run.sh").chmod(0o700)
    assert pack(code).sha256 == before
    (code / "train.py").chmod(0o755)
    after = pack(code)
    assert after.sha256 != before
    modes = {m.name: m.mode for m in members(after.data)}
    assert modes["train.py"] == 0o755
    assert modes["lib/__init__.py"] == 0o644


def test_a_content_change_changes_the_hash(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    before = pack(code).sha256
    (code / "lib" / "deep" / "util.py").write_text("X = 2\n")
    assert pack(code).sha256 != before


def test_a_new_or_renamed_file_changes_the_hash(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    before = pack(code).sha256
    (code / "extra.py").write_text("")
    added = pack(code).sha256
    assert added != before
    (code / "extra.py").rename(code / "other.py")
    assert pack(code).sha256 not in (before, added)


def test_caches_and_bytecode_are_skipped(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    before = pack(code)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\x00junk")
    (code / "lib" / "__pycache__").mkdir()
    (code / "lib" / "__pycache__" / "x.pyc").write_bytes(b"\x00junk")
    (code / "stray.pyc").write_bytes(b"\x00junk")
    (code / "stray.pyo").write_bytes(b"\x00junk")
    (code / ".git").mkdir()
    (code / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    after = pack(code)
    assert after.data == before.data
    assert not any("pycache" in n or n.endswith((".pyc", ".pyo")) for n in names(after.data))


@pytest.mark.parametrize("target", ["file", "dir"])
def test_a_symlink_is_refused_naming_it(tmp_path: Path, target: str) -> None:
    code = make_code(tmp_path)
    outside = tmp_path / "outside"
    if target == "file":
        outside.write_text("secret\n")
    else:
        outside.mkdir()
        (outside / "x.py").write_text("")
    (code / "lib" / "link").symlink_to(outside)
    with pytest.raises(wf.WorkflowDefinitionError) as caught:
        pack(code)
    assert "lib/link" in str(caught.value) and "symbolic link" in str(caught.value)


def test_archive_holds_sorted_relative_names_with_zeroed_owner_and_time(tmp_path: Path) -> None:
    code = make_code(tmp_path)
    data = pack(code).data
    found = members(data)
    assert [m.name for m in found] == [
        "B.txt",
        "lib/__init__.py",
        "lib/deep/util.py",
        "run.sh",
        "train.py",
    ]
    for member in found:
        assert member.isfile()
        assert not member.name.startswith(("/", "./"))
        assert (member.uid, member.gid, member.mtime) == (0, 0, 0)
        assert (member.uname, member.gname) == ("", "")
        assert member.mode in (0o644, 0o755)
    assert {m.name: m.mode for m in found}["run.sh"] == 0o755
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        gz.read()
        assert gz.mtime == 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        extracted = tar.extractfile("lib/deep/util.py")
        assert extracted is not None and extracted.read() == b"X = 1\n"


def test_the_example_algorithms_pack_reproducibly() -> None:
    code = Path(__file__).resolve().parents[2] / "sdk" / "examples" / "digits" / "algorithms"
    first = pack(code)
    assert first.data == pack(code).data
    assert names(first.data) == ["export.py", "prepare.py", "report.py", "train.py"]
