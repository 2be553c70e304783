"""Object-store paths of steps (``/<bucket>/<dir>/…``) on top of the blob store.

A path maps to the blob key ``objects/<bucket>/<dir>/…``, so step data lives beside the
registry's packages in the one configured store (a local directory or an S3 bucket), and no
step path can name a package or a log. Every path must also lie inside the namespace of the
execution's workspace (``/<owner>/<workspace>/``): the worker checks it here, whatever the
registry checked before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from registry.blobs import BlobNotFound, BlobStore
from registry.workspaces.storage import blob_key, outside_message, parts, within


class ObjectPathError(ValueError):
    """A path that is not ``/<bucket>/<dir>/…`` or climbs out with ``..``."""


def key_of(path: str, space: str) -> str:
    """The blob key of ``path``, which must lie inside the namespace ``space``."""
    found = parts(path)
    if found is None:
        raise ObjectPathError(f"{path!r} is not an object-store path written /<bucket>/<dir>/")
    if not within(path, space):
        raise ObjectPathError(outside_message(path, space))
    return blob_key(found)


def download(blobs: BlobStore, path: str, target: Path, space: str) -> Path:
    """A directory path (ending ``/``) fetches everything under it into ``target``; a file
    path fetches that one object into ``target``. Returns what the step is given."""
    key = key_of(path, space)
    target.mkdir(parents=True, exist_ok=True)
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


def upload(blobs: BlobStore, source: Path, path: str, space: str) -> int:
    """Store every regular file under ``source`` below the directory ``path``; returns the
    count. What a step left there is not trusted: links (which could point at the worker's
    own files) and special files (a FIFO would block the upload) are skipped, and a
    ``source`` that is not a real directory uploads nothing."""
    base = key_of(path, space)
    if not stat.S_ISDIR(os.lstat(source).st_mode):
        return 0
    count = 0
    for dirpath, _dirs, files in os.walk(source):  # never follows links to directories
        for name in sorted(files):
            local = Path(dirpath) / name
            if not stat.S_ISREG(os.lstat(local).st_mode):
                continue
            relative = local.relative_to(source).as_posix()
            blobs.put_file(f"{base}/{relative}", local)
            count += 1
    return count
