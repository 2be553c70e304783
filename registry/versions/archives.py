"""Safety checks on packages: a gzip tar of plain files and directories, within size limits.

The registry checks every upload before it stores it; a worker checks again before it unpacks
(limits may have been lowered since the package was stored). The archive is streamed, never
extracted: member data is skipped, only headers are read, and a header too large to be honest
(a PAX or long-name record of megabytes, which ``tarfile`` would read whole) is refused.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, cast

from registry.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    from registry.settings import Settings

MiB = 1024 * 1024
RATIO_FLOOR_BYTES = 1 * MiB
"""The compression ratio is not held against packages that unpack to less than this: a small
file of repetitive text can compress 200-fold and harms nobody."""
MAX_HEADER_BYTES = 1 * MiB
"""Longest extended header (PAX record, GNU long name) read: real ones are a few hundred bytes."""
HEADER_ALLOWANCE = 8192
"""Tar stream bytes allowed per member beyond its data (header, PAX record, padding)."""
_SKIP = MiB
_HINT = "publish data and model files as dataset or model assets, not inside the code package"


@dataclass(frozen=True)
class PackageLimits:
    """What a package may unpack to: total bytes of its files, members, unpacked/compressed."""

    unpacked_bytes: int
    members: int
    ratio: float

    def longest_stream(self) -> int:
        """The longest tar stream files within these limits can make."""
        return self.unpacked_bytes + (self.members + 2) * HEADER_ALLOWANCE

    @classmethod
    def from_settings(cls, settings: Settings) -> PackageLimits:
        return cls(
            unpacked_bytes=settings.package_max_unpacked_bytes,
            members=settings.package_max_members,
            ratio=settings.package_max_ratio,
        )


@dataclass(frozen=True)
class ArchiveSummary:
    members: int
    unpacked_bytes: int


def human(size: int) -> str:
    """``100`` → ``100 bytes``, ``1536`` → ``1.5 KiB``, ``1048576`` → ``1 MiB``."""
    value, unit = float(size), "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} bytes" if unit == "bytes" else f"{value:.4g} {unit}"


def _refuse(rule: str, message: str, **numbers: Any) -> InvalidInput:
    return InvalidInput(f"package: {message}", [FieldError("package", rule, message)], **numbers)


class _HeaderTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _StreamTooLong(Exception):
    pass


class _Headers:
    """The decompressed tar stream for ``tarfile``: reads are headers (bounded), seeks skip data
    by decompressing it in chunks, so nothing large is ever held in memory, and the stream as
    a whole may not be much longer than the files it holds could make it."""

    def __init__(self, raw: gzip.GzipFile, limits: PackageLimits) -> None:
        self.raw = raw
        self.longest = limits.longest_stream()

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_HEADER_BYTES:
            raise _HeaderTooLarge(size)
        if self.raw.tell() + size > self.longest:
            raise _StreamTooLong
        return self.raw.read(size)

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset < self.raw.tell():
            return self.raw.seek(offset, whence)
        if offset > self.longest:
            raise _StreamTooLong
        while (gap := offset - self.raw.tell()) > 0:
            if not self.raw.read(min(gap, _SKIP)):
                break
        return self.raw.tell()


def _open(stream: _Headers) -> tarfile.TarFile:
    return tarfile.open(fileobj=cast(IO[bytes], stream), mode="r:")


def check_archive(path: Path, limits: PackageLimits) -> ArchiveSummary:
    """Refuse absolute paths, ``..``, links, special files, and packages over ``limits``
    (rules ``unpacked_size``, ``member_count``, ``compression_ratio``), stopping at the first
    member that breaks one; raises InvalidInput naming field ``package`` and the rule."""
    compressed = max(path.stat().st_size, 1)
    count = 0
    unpacked = 0
    try:
        with gzip.GzipFile(path, "rb") as raw, _open(_Headers(raw, limits)) as tar:
            for member in tar:
                count += 1
                _check_member(member)
                if count > limits.members:
                    raise _refuse(
                        "member_count",
                        f"has more than the limit of {limits.members} members (files and "
                        f"directories); {_HINT}",
                        limit=limits.members,
                        found=count,
                    )
                if member.isfile():
                    unpacked += member.size
                _check_size(unpacked, compressed, limits)
    except InvalidInput:
        raise
    except _StreamTooLong:
        raise _refuse(
            "unpacked_size",
            f"its tar stream is longer than {limits.longest_stream()} bytes, more than the files "
            f"and headers within the limits can take",
            limit=limits.unpacked_bytes,
        ) from None
    except _HeaderTooLarge as exc:
        raise _refuse(
            "tar_gz",
            f"has a member header of {exc.size} bytes; at most {MAX_HEADER_BYTES} are accepted",
        ) from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _refuse("tar_gz", f"not a valid tar.gz archive ({exc})") from None
    return ArchiveSummary(count, unpacked)


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _refuse("relative_paths", f"member {name!r} has an absolute path")
    if ".." in parts:
        raise _refuse("relative_paths", f"member {name!r} climbs out with '..'")
    if member.issym() or member.islnk():
        raise _refuse("no_links", f"member {name!r} is a link; links are refused")
    if not (member.isfile() or member.isdir()):
        raise _refuse("plain_files", f"member {name!r} is not a file or directory")


def _check_size(unpacked: int, compressed: int, limits: PackageLimits) -> None:
    if unpacked > limits.unpacked_bytes:
        raise _refuse(
            "unpacked_size",
            f"unpacks to more than the limit of {human(limits.unpacked_bytes)} "
            f"({limits.unpacked_bytes} bytes); {_HINT}",
            limit=limits.unpacked_bytes,
            found=unpacked,
        )
    if unpacked > RATIO_FLOOR_BYTES and unpacked > limits.ratio * compressed:
        raise _refuse(
            "compression_ratio",
            f"unpacks to at least {unpacked} bytes from {compressed} compressed bytes, a ratio "
            f"of {unpacked / compressed:.1f}, over the limit of {limits.ratio:g} "
            "(a compression bomb?)",
            limit=limits.ratio,
            found=round(unpacked / compressed, 1),
        )
