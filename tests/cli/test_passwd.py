"""``gallery passwd`` against a running registry, with the login ``gallery login`` saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.gallery import API, Gallery

GALLERY = str(Path(sys.executable).with_name("gallery"))


class Shell:
    """The ``gallery`` command for one user, with a config dir of its own."""

    def __init__(self, gallery: Gallery, config: Path) -> None:
        self.gallery = gallery
        self.env = {**os.environ, "GALLERY_CONFIG_DIR": str(config)}
        for key in ("GALLERY_URL", "GALLERY_TOKEN"):
            self.env.pop(key, None)
        self.credentials = config / "credentials.json"

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GALLERY, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120
        )

    def saved_token(self) -> str:
        return str(json.loads(self.credentials.read_text())["token"])

    def me(self, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(self.gallery.base_url + API + "/me", headers=headers)


@pytest.fixture
def signed_in(gallery: Gallery, tmp_path: Path) -> tuple[Shell, str, str]:
    """A new user signed in with ``gallery login``: (shell, username, password)."""
    name, password = f"pw{uuid.uuid4().hex[:10]}", "pw-" + uuid.uuid4().hex
    made = gallery.admin.post("/users", json={"username": name, "password": password})
    assert made.status_code == 201, made.text
    shell = Shell(gallery, tmp_path / "config")
    login = shell(
        "login", "--url", gallery.base_url, "-u", name, "--password-stdin", stdin=password
    )
    assert login.returncode == 0, login.stderr
    return shell, name, password


def test_passwd_changes_the_password_and_renews_the_saved_login(
    signed_in: tuple[Shell, str, str],
) -> None:
    shell, name, password = signed_in
    old_token = shell.saved_token()
    assert shell.me(old_token).status_code == 200

    changed = shell("passwd", "--password-stdin", stdin=f"{password}\nnew-password-1\n")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith(f"Changed the password of {name}: ")
    assert "1 personal access token revoked" in changed.stdout
    assert "new token saved in" in changed.stdout

    assert shell.me(old_token).status_code == 401  # the revoked token is cut off
    new_token = shell.saved_token()
    assert new_token != old_token
    assert shell.me(new_token).json()["username"] == name
    assert shell.credentials.stat().st_mode & 0o777 == 0o600
    relogin = shell(
        "login", "--url", shell.gallery.base_url, "-u", name, "--password-stdin", stdin=password
    )
    assert relogin.returncode == 1 and "wrong username or password" in relogin.stderr


def test_passwd_errors_are_one_line_and_change_nothing(signed_in: tuple[Shell, str, str]) -> None:
    shell, _, password = signed_in
    token = shell.saved_token()
    wrong = shell("passwd", "--password-stdin", stdin="not-my-password\nnew-password-1\n")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        "error: current_password: is not your current password (HTTP 422)"
    )
    short = shell("passwd", "--password-stdin", stdin=f"{password}\nshort\n")
    assert short.returncode == 1
    assert short.stderr.strip() == (
        "error: new_password: must have at least 8 characters (HTTP 422)"
    )
    one_line = shell("passwd", "--password-stdin", stdin=f"{password}\n")
    assert one_line.returncode == 1
    assert one_line.stderr.strip() == (
        "error: --password-stdin reads two lines: the current password, then the new one"
    )
    assert shell.saved_token() == token
    assert shell.me(token).status_code == 200


def test_passwd_with_a_token_from_the_environment_says_it_ended(
    signed_in: tuple[Shell, str, str],
) -> None:
    shell, _, password = signed_in
    saved = shell.saved_token()
    made = httpx.post(
        shell.gallery.base_url + API + "/tokens",
        json={"name": "env"},
        headers={"Authorization": f"Bearer {saved}"},
    )
    shell.env["GALLERY_TOKEN"] = made.json()["token"]
    changed = shell("passwd", "--password-stdin", stdin=f"{password}\nnew-password-2\n")
    assert changed.returncode == 0, changed.stderr
    assert "2 personal access tokens revoked" in changed.stdout
    assert "no longer works" in changed.stdout
    assert shell.saved_token() == saved  # not ours to replace
    assert shell.me(made.json()["token"]).status_code == 401
