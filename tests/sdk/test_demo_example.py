"""The first-run demo (``sdk/examples/digits_classification``): it compiles to the manual's
central pipeline, and its image helper writes PNGs it (and browsers) can read back."""

from __future__ import annotations

import sys
from pathlib import Path

from sdk.examples.digits_classification.workflow import ALGORITHMS, workflow


def test_the_demo_is_the_manual_s_pipeline() -> None:
    spec = workflow.compile()
    assert [(s.name, s.type) for s in spec.steps] == [
        ("prepare", "job"),
        ("create_dataset", "create_dataset"),
        ("label", "labeling"),
        ("release", "release_dataset"),
        ("train", "job"),
        ("good_enough", "condition"),
        ("register", "model"),
        ("deploy", "service"),
    ]
    delayed = [p.name for p in spec.placeholders if p.delay]
    assert delayed == ["service_model"]  # the service asks which model version to deploy


def test_its_png_helper_round_trips(tmp_path: Path) -> None:
    sys.path.insert(0, ALGORITHMS)
    try:
        from digits_png import read_png, write_png
    finally:
        sys.path.remove(ALGORITHMS)
    rows = [[(r * 16 + c) % 256 for c in range(32)] for r in range(32)]
    path = tmp_path / "digit.png"
    write_png(path, rows)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert read_png(path) == rows
