"""No 500s on anything a user can send: schemathesis fuzzes every operation of the OpenAPI.

Real identifiers (an asset, a version, a group) are fed in so the fuzzer gets past the 404s.
The budget is small here; ``make fuzz`` runs it with a far larger one (``tests/support/fuzz.py``).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.fuzz import budget, run_schemathesis
from tests.support.gallery import Gallery, make_package, new_asset, publish


def test_no_server_errors_under_fuzzing(gallery: Gallery, tmp_path: Path) -> None:
    owner = gallery.user("fuzz")
    asset = new_asset(owner, visibility="public", title="fuzz target")
    assert publish(owner, asset["content_id"], {}, make_package()).status_code == 201
    group = gallery.group("fuzz")
    token = owner.post("/tokens", json={"name": "fuzz"}).json()["token"]
    run = run_schemathesis(
        gallery.base_url,
        token=token,
        parameters={
            "path.content_id": asset["content_id"],
            "path.version": "1.0.0",
            "path.name": group,
        },
        work_dir=tmp_path,
        examples=budget(15),
        seed=20261125,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "generated" in run.stdout and " passed" in run.stdout
