"""Object-store paths of steps (``/<bucket>/<dir>/…``) on top of the blob store.

A path maps to the blob key ``objects/<bucket>/<dir>/…``, so step data lives beside the
registry's packages in the one configured store (a local directory or an S3 bucket).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from registry.blobs import BlobNotFound, BlobStore

PREFIX = "objects"


class ObjectPathError(ValueError):
    """A path that is not ``/<bucket>/<dir>/…`` or climbs out with ``..``."""


def key_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if not path.startswith("/") or not parts or any(p in (".", "..") for p in parts):
        raise ObjectPathError(f"{path!r} is not an object-store path written /<bucket>/<dir>/")
    return "/".join([PREFIX, *parts])


def download(blobs: BlobStore, path: str, target: Path) -> Path:
    """A directory path (ending ``/``) fetches everything under it into ``target``; a file
    path fetches that one object into ``target``. Returns what the step is given."""
    target.mkdir(parents=True, exist_ok=True)
    key = key_of(path)
    if not path.endswith("/"):
        local = target / PurePosixPath(key).name
        try:
            _fetch(blobs, key, local)
            return local
        except BlobNotFound:
            pass  # no such object: maybe a directory written without its '/'
    prefix = key + "/"
    found = False
    for info in blobs.list(prefix):
        relative = info.key[len(prefix) :]
        if not relative or any(p in ("", ".", "..") for p in relative.split("/")):
            continue
        _fetch(blobs, info.key, target.joinpath(*relative.split("/")))
        found = True
    if not found:
        raise FileNotFoundError(f"nothing is stored at {path}")
    return target


def _fetch(blobs: BlobStore, key: str, local: Path) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    chunks = blobs.open(key)
    first = next(chunks, None)  # raises BlobNotFound before a file is created
    with local.open("wb") as handle:
        if first is not None:
            handle.write(first)
        for chunk in chunks:
            handle.write(chunk)


def upload(blobs: BlobStore, source: Path, path: str) -> int:
    """Store every file under ``source`` below the directory ``path``; returns the count."""
    base = key_of(path)
    count = 0
    for dirpath, _dirs, files in os.walk(source):
        for name in sorted(files):
            local = Path(dirpath) / name
            if local.is_symlink():
                continue
            relative = local.relative_to(source).as_posix()
            blobs.put_file(f"{base}/{relative}", local)
            count += 1
    return count
