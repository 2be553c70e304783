"""A step's outputs, read back from the blob store: one file, or a folder as a tar.gz stream.

A step run records each output as an object-store directory (``/<owner>/<workspace>/…/``). The
runner stores a path ``/<bucket>/<dir>/…`` under the blob key ``objects/<bucket>/<dir>/…``
(``runner.objects.key_of``; the registry never imports the runner, so the mapping is written
here too and a test keeps the two equal). Only paths inside the execution's workspace namespace
are served. Everything here is synchronous blob work: callers run it in a thread, and archives
are produced chunk by chunk as the response is sent, never whole in memory.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from registry.blobs import BlobInfo, BlobNotFound, BlobStore
from registry.errors import InvalidInput, NotFound
from registry.workspaces.storage import blob_key, parts, within

MAX_NAME_CHARS = 512
MAX_SEGMENT_CHARS = 255
BLOCK = 512


def stored_outputs(outputs: dict[str, Any], space: str) -> dict[str, str]:
    """Each output of a step run that names an object-store directory inside ``space``:
    output name → blob key of that directory (no trailing ``/``)."""
    found = {}
    for name, path in outputs.items():
        if not isinstance(path, str) or not within(path, space):
            continue  # a condition's result, or a path the workspace does not own
        segments = parts(path)
        if segments:
            found[name] = blob_key(segments)
    return found


def requested(name: str) -> list[str]:
    """The segments of a requested output name (``OUTPUT[/PATH…]``, a trailing ``/`` is
    ignored); 422 for an absolute path, ``..``, ``.`` or empty segments."""
    if not name:
        return []
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput.field("name", "length", f"at most {MAX_NAME_CHARS} characters")
    if "\x00" in name:
        raise InvalidInput.field("name", "characters", "a name holds no NUL character")
    if name.startswith("/"):
        raise InvalidInput.field(
            "name", "relative", f"{name!r} is absolute; name an output, then a path inside it"
        )
    segments = name.removesuffix("/").split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            which = f"a {segment!r}" if segment else "an empty"
            raise InvalidInput.field(
                "name",
                "relative",
                f"{name!r} has {which} segment; name an output, then a path inside it, "
                "without '..', '.' or '//'",
            )
        if len(segment) > MAX_SEGMENT_CHARS:
            raise InvalidInput.field(
                "name", "length", f"a path segment is at most {MAX_SEGMENT_CHARS} characters"
            )
    return segments


@dataclass(frozen=True)
class OutputFile:
    info: BlobInfo
    filename: str


@dataclass(frozen=True)
class OutputTree:
    members: list[tuple[str, BlobInfo]]
    """(name in the archive, blob) pairs, in key order."""
    filename: str

    @property
    def size(self) -> int:
        return sum(info.size for _, info in self.members)


def locate(
    blobs: BlobStore,
    outputs: dict[str, str],
    segments: list[str],
    what: str,
) -> OutputFile | OutputTree:
    """What a request names: every output of the step (no segments), one output, or a file or
    folder inside one. Archive members are named from the step's outputs down
    (``OUTPUT/path…``), whatever was asked for, so downloads unpack into one layout. ``what``
    names the step in errors (404 when nothing is stored there)."""
    if not outputs:
        raise NotFound(f"{what} has no stored outputs")
    if not segments:
        members = [m for out, key in sorted(outputs.items()) for m in _under(blobs, key, [out])]
        if not members:
            raise NotFound(f"{what} has stored nothing in its outputs ({', '.join(outputs)})")
        return OutputTree(members, filename="outputs.tar.gz")
    out = segments[0]
    if out not in outputs:
        known = ", ".join(sorted(outputs))
        raise NotFound(f"{what} has no output {out!r} (outputs: {known})")
    key = "/".join([outputs[out], *segments[1:]])
    members = list(_under(blobs, key, segments))
    if members:
        return OutputTree(members, filename=f"{segments[-1]}.tar.gz")
    try:  # a file inside an output, or an output that is one file (a metrics.json path)
        name = segments[-1] if len(segments) > 1 else key.rstrip("/").rsplit("/", 1)[-1]
        return OutputFile(blobs.stat(key), filename=name or segments[-1])
    except (BlobNotFound, OSError):
        pass
    raise NotFound(f"nothing is stored at {'/'.join(segments)!r} in the outputs of {what}")


def _under(blobs: BlobStore, key: str, names: list[str]) -> Iterator[tuple[str, BlobInfo]]:
    prefix = key + "/"
    found = []
    for info in blobs.list(prefix):
        relative = info.key[len(prefix) :].split("/")
        if any(p in ("", ".", "..") for p in relative):
            continue  # no member may climb out of the archive
        found.append(("/".join([*names, *relative]), info))
    return iter(sorted(found, key=lambda m: m[0]))


def open_file(blobs: BlobStore, key: str) -> Iterator[bytes]:
    """The blob's chunks, its first one already read, so a blob that vanished is a 404
    before the response starts rather than a broken stream after."""
    chunks = blobs.open(key)
    try:
        first = next(chunks, b"")
    except (BlobNotFound, OSError):
        raise NotFound("the output is no longer stored") from None
    return _chain(first, chunks)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def tar_gz(blobs: BlobStore, members: list[tuple[str, BlobInfo]]) -> Iterator[bytes]:
    """A gzip-compressed tar of the members, made as it is read: one blob chunk at a time.

    Each member's size is the one listed; a blob that changed meanwhile is cut or padded to
    it (and one that vanished is zeros), so the archive stays well formed."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    for name, info in members:
        header = tarfile.TarInfo(name)
        header.size = info.size
        header.mtime = int(info.modified.timestamp())
        header.mode = 0o644
        if out := packer.compress(header.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")):
            yield out
        sent = 0
        chunks = blobs.open(info.key)
        try:
            for chunk in chunks:
                piece = chunk[: info.size - sent]
                sent += len(piece)
                if piece and (out := packer.compress(piece)):
                    yield out
                if sent >= info.size:
                    break
        except (BlobNotFound, OSError):
            pass
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        missing = info.size - sent
        while missing > 0:
            zeros = min(missing, 1024 * 1024)
            if out := packer.compress(bytes(zeros)):
                yield out
            missing -= zeros
        if info.size % BLOCK and (out := packer.compress(bytes(BLOCK - info.size % BLOCK))):
            yield out
    yield packer.compress(bytes(2 * BLOCK)) + packer.flush()
