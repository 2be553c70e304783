"""Reproducible packages of local algorithm code: same files in, same bytes (and sha256) out."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from sdk._errors import WorkflowDefinitionError

SKIP_DIRS = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    files: int


def pack(code_dir: Path) -> Package:
    """A tar.gz of ``code_dir``: sorted entries, zeroed times and owners, normalised modes."""
    root = code_dir.resolve()
    paths: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / name
            if path.is_symlink():
                raise WorkflowDefinitionError(
                    f"code_dir {str(root)!r}: {path.relative_to(root)} is a symbolic link; "
                    "packages hold plain files only"
                )
            paths.append(path)
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            if (Path(dirpath) / name).is_symlink():
                raise WorkflowDefinitionError(
                    f"code_dir {str(root)!r}: {(Path(dirpath) / name).relative_to(root)} is a "
                    "symbolic link; packages hold plain files only"
                )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as gz:
        gz.write(raw.getvalue())
    data = compressed.getvalue()
    return Package(data, hashlib.sha256(data).hexdigest(), len(paths))
