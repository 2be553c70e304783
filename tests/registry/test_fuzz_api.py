"""No 500s on anything a user can send: schemathesis fuzzes every operation of the OpenAPI.

Real identifiers (an asset, a version, a group) are fed in so the fuzzer gets past the 404s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.gallery import Gallery, make_package, new_asset, publish

ST = str(Path(sys.executable).with_name("st"))


def test_no_server_errors_under_fuzzing(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("fuzz")
    asset = new_asset(owner, visibility="public", title="fuzz target")
    assert publish(owner, asset["content_id"], {}, make_package()).status_code == 201
    group = gallery.group("fuzz")
    token = owner.post("/tokens", json={"name": "fuzz"}).json()["token"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.content_id" = "{asset["content_id"]}"\n'
        '"path.version" = "1.0.0"\n'
        f'"path.name" = "{group}"\n'
    )
    run = subprocess.run(
        [
            ST,
            "--config-file",
            str(config),
            "run",
            f"{gallery.base_url}/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "--seed",
            "20261125",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "generated" in run.stdout and " passed" in run.stdout
