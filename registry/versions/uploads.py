"""Streaming parse of a publish upload: the manifest in memory, the package to a temp file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from registry.errors import InvalidInput, PayloadTooLarge

PACKAGE = "package"
MANIFEST = "manifest"
MAX_BOUNDARY = 70  # RFC 2046, section 5.1.1


@dataclass
class PackageFile:
    path: Path
    size: int
    sha256: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class PublishUpload:
    manifest: bytes
    package: PackageFile | None = None

    def discard(self) -> None:
        if self.package is not None:
            self.package.discard()


@dataclass
class _Reader:
    tmp_dir: Path
    max_package: int
    max_manifest: int
    fields: dict[str, bytes] = field(default_factory=dict)
    package: PackageFile | None = None
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _header_field: bytes = b""
    _header_value: bytes = b""
    _name: str = ""
    _buffer: bytearray = field(default_factory=bytearray)
    _file: IO[bytes] | None = None
    _file_path: Path | None = None
    _hash: Any = None
    _size: int = 0
    complete: bool = False

    def on_part_begin(self) -> None:
        self._headers = {}
        self._header_field = self._header_value = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name not in (PACKAGE, MANIFEST):
            raise InvalidInput.field(
                self._name or "(unnamed part)",
                "known_part",
                "unexpected form part; send 'manifest' (JSON) and optionally 'package' (tar.gz)",
            )
        if self._name in self.fields or (self._name == PACKAGE and self.package is not None):
            raise InvalidInput.field(self._name, "once", "sent more than once")
        if self._name == PACKAGE:
            fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="upload-", suffix=".tar.gz")
            self._file = os.fdopen(fd, "wb")
            self._file_path = Path(name)
            self._hash = hashlib.sha256()
            self._size = 0
        else:
            self._buffer = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is not None:
            self._size += len(chunk)
            if self._size > self.max_package:
                raise PayloadTooLarge(
                    f"package: larger than the limit of {self.max_package} bytes",
                    field=PACKAGE,
                    limit=self.max_package,
                )
            self._hash.update(chunk)
            self._file.write(chunk)
        else:
            self._buffer += chunk
            if len(self._buffer) > self.max_manifest:
                raise PayloadTooLarge(
                    f"manifest: larger than the limit of {self.max_manifest} bytes",
                    field=MANIFEST,
                    limit=self.max_manifest,
                )

    def on_part_end(self) -> None:
        if self._file is not None and self._file_path is not None:
            self._file.close()
            self.package = PackageFile(self._file_path, self._size, self._hash.hexdigest())
            self._file = None
        else:
            self.fields[self._name] = bytes(self._buffer)

    def on_end(self) -> None:
        self.complete = True

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._file_path is not None:
            self._file_path.unlink(missing_ok=True)


async def read_publish_upload(
    content_type: str,
    body: AsyncIterator[bytes],
    *,
    tmp_dir: Path,
    max_package: int,
    max_manifest: int,
) -> PublishUpload:
    """Parse ``multipart/form-data`` with parts ``manifest`` and optional ``package``."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise InvalidInput.field(
            "content-type",
            "multipart",
            "send multipart/form-data with a 'manifest' part and an optional 'package' part",
        )
    if len(boundary) > MAX_BOUNDARY:
        raise InvalidInput.field(
            "content-type",
            "boundary",
            f"the multipart boundary is {len(boundary)} characters long; RFC 2046 allows "
            f"at most {MAX_BOUNDARY}",
        )
    reader = _Reader(tmp_dir, max_package, max_manifest)
    callbacks: Any = {
        name: getattr(reader, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
            "on_end",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except (InvalidInput, PayloadTooLarge):
        reader.abort()
        raise
    except Exception as exc:
        reader.abort()
        raise InvalidInput.field("body", "multipart", f"malformed multipart body: {exc}") from None
    if not reader.complete:
        # The body stopped before the closing boundary: a cut-off upload, never a publish.
        reader.abort()
        if reader.package is not None:
            reader.package.discard()
        raise InvalidInput.field(
            "body", "multipart", "the upload was cut off before the closing multipart boundary"
        )
    if MANIFEST not in reader.fields:
        reader.abort()
        if reader.package is not None:
            reader.package.discard()
        raise InvalidInput.field(MANIFEST, "required", "the 'manifest' part is missing")
    return PublishUpload(reader.fields[MANIFEST], reader.package)
