"""Running ``gallery`` in-process as a given user, as the CLI tests do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sdk.cli import main
from tests.sdk.support import token_of


@dataclass
class Result:
    code: int
    out: str
    err: str


Shell = Callable[..., Result]


def shell_for(
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
) -> Callable[[httpx.Client], Shell]:
    """``of(client)("verb", …)`` runs ``gallery verb …`` against ``base_url`` with the
    client's token: its exit code, stdout and stderr."""
    monkeypatch.setenv("GALLERY_URL", base_url)
    monkeypatch.setenv("GALLERY_CONFIG_DIR", str(config_dir))

    def of(client: httpx.Client) -> Shell:
        def run(*args: str) -> Result:
            monkeypatch.setenv("GALLERY_TOKEN", token_of(client))
            capsys.readouterr()
            code = main(list(args))
            captured = capsys.readouterr()
            return Result(code, captured.out, captured.err)

        return run

    return of
