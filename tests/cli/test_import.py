"""``gallery import`` against a running registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.sdk.support import token_of
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest

GALLERY = str(Path(sys.executable).with_name("gallery"))


def test_import_from_the_shell(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("owner")
    content_id = new_asset(owner, kind="workflow")["content_id"]
    assert publish(owner, content_id, workflow_manifest()).status_code == 201
    env = {
        **os.environ,
        "GALLERY_URL": gallery.base_url,
        "GALLERY_TOKEN": token_of(owner),
        "GALLERY_CONFIG_DIR": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GALLERY, "import", *args], env=env, capture_output=True, text=True, timeout=60
        )

    made = run(f"{content_id}@1.0.0", "--name", "from_shell")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"imported {content_id}@1.0.0 as default/from_shell")
    again = run(content_id, "--name", "from_shell")
    assert again.returncode == 1
    assert "already has a workflow named 'from_shell'" in again.stderr
    missing = run(f"{content_id}@9.9.9")
    assert missing.returncode == 1 and "no version '9.9.9'" in missing.stderr
