"""Safety checks on uploaded packages: a gzip tar with plain files and directories only."""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

from registry.errors import InvalidInput


def _refuse(rule: str, message: str) -> InvalidInput:
    return InvalidInput.field("package", rule, message)


def check_archive(path: Path) -> int:
    """Refuse absolute paths, ``..``, links and special files; returns the member count."""
    count = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                count += 1
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
    except InvalidInput:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _refuse("tar_gz", f"not a valid tar.gz archive ({exc})") from None
    return count
