"""Schemathesis against a running Gallery: every operation of its OpenAPI, real identifiers fed in.

The budget is small in the suite (each test's ``examples``) and as large as you like from the
environment: ``GALLERY_FUZZ_EXAMPLES`` (examples per operation and phase; ``make fuzz`` sets it)
and ``GALLERY_FUZZ_SEED`` (a number to replay a run, or ``random``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ST = str(Path(sys.executable).with_name("st"))
SECONDS_PER_EXAMPLE = 20  # a generous bound per example per operation, for the run's timeout
_SUMMARY = re.compile(r"^\s*(Operations:|\d+ generated|Seed:)")


def budget(default: int) -> int:
    """Examples per operation: ``GALLERY_FUZZ_EXAMPLES`` when set, else the test's default."""
    return int(os.environ.get("GALLERY_FUZZ_EXAMPLES") or default)


def run_schemathesis(
    base_url: str,
    *,
    token: str,
    parameters: dict[str, str],
    work_dir: Path,
    examples: int,
    seed: int,
    include_path_regex: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Fuzz the app at ``base_url`` as the token's user; only server errors fail the run."""
    config = work_dir / "schemathesis.toml"
    config.write_text(
        "[parameters]\n" + "".join(f'"{name}" = "{value}"\n' for name, value in parameters.items())
    )
    chosen_seed = os.environ.get("GALLERY_FUZZ_SEED") or str(seed)
    command = [
        ST,
        "--config-file",
        str(config),
        "run",
        f"{base_url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
    ]
    if chosen_seed != "random":
        command += ["--seed", chosen_seed]
    if include_path_regex:
        command += ["--include-path-regex", include_path_regex]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=max(600, examples * SECONDS_PER_EXAMPLE),
        cwd=work_dir,
    )
    # What was tried (shown with ``pytest -s``, as ``make fuzz`` runs it).
    print(*[line for line in run.stdout.splitlines() if _SUMMARY.search(line)], sep="\n")
    return run
