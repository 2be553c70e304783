"""Interface diffs decide the semver bump: breaking → major, additive → minor, else patch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sdk import spec as ir
from sdk.interface import (
    Change,
    algorithm_interface,
    bump_for,
    diff,
    workflow_interface,
)


def spec(
    placeholders: list[dict[str, Any]] | None = None,
    storages: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> ir.WorkflowSpec:
    algorithm = {"source": "gallery", "content_id": "c1", "version": "1.0.0"}
    return ir.WorkflowSpec.model_validate(
        {
            "name": "w",
            "placeholders": placeholders
            if placeholders is not None
            else [
                {"name": "lr", "type": "float", "default": 0.1},
                {"name": "data", "type": "str", "format": "obs_directory"},
                {"name": "mode", "type": "enum", "enum_list": ["fast", "slow"], "default": "fast"},
            ],
            "storages": storages if storages is not None else [{"name": "out", "kind": "output"}],
            "steps": [
                {
                    "name": "train",
                    "type": "job",
                    "properties": {"algorithm": algorithm},
                    "outputs": outputs if outputs is not None else [{"name": "model"}],
                }
            ],
        }
    )


BASE = spec()


def placeholders(**changes: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The base placeholders with some replaced (a dict), removed (None) or added."""
    found = {p.name: p.model_dump(exclude_defaults=True) for p in BASE.placeholders}
    for name, value in changes.items():
        if value is None:
            found.pop(name)
        else:
            found[name] = {"name": name, **value}
    return list(found.values())


def changes_to(new: ir.WorkflowSpec) -> list[Change]:
    return diff(workflow_interface(BASE), workflow_interface(new))


CASES: dict[str, tuple[Callable[[], ir.WorkflowSpec], str, str]] = {
    "placeholder removed": (
        lambda: spec(placeholders(lr=None)),
        "major",
        "placeholder 'lr' removed",
    ),
    "placeholder renamed": (
        lambda: spec(placeholders(lr=None, learning_rate={"type": "float", "default": 0.1})),
        "major",
        "placeholder 'lr' removed",
    ),
    "placeholder retyped": (
        lambda: spec(placeholders(lr={"type": "str", "default": "0.1"})),
        "major",
        "placeholder 'lr' type changed from 'float' to 'str'",
    ),
    "placeholder format changed": (
        lambda: spec(placeholders(data={"type": "str", "format": "obs_file"})),
        "major",
        "placeholder 'data' format changed from 'obs_directory' to 'obs_file'",
    ),
    "placeholder default dropped": (
        lambda: spec(placeholders(lr={"type": "float"})),
        "major",
        "placeholder 'lr' now needs a value",
    ),
    "required placeholder without default added": (
        lambda: spec(placeholders(epochs={"type": "int"})),
        "major",
        "placeholder 'epochs' added (needs a value)",
    ),
    "placeholder with default added": (
        lambda: spec(placeholders(epochs={"type": "int", "default": 3})),
        "minor",
        "placeholder 'epochs' added",
    ),
    "optional placeholder without default added": (
        lambda: spec(placeholders(note={"type": "str", "required": False})),
        "minor",
        "placeholder 'note' added",
    ),
    "enum value added": (
        lambda: spec(
            placeholders(
                mode={"type": "enum", "enum_list": ["fast", "slow", "exact"], "default": "fast"}
            )
        ),
        "minor",
        "placeholder 'mode' now also accepts ['exact']",
    ),
    "enum value removed": (
        lambda: spec(placeholders(mode={"type": "enum", "enum_list": ["fast"], "default": "fast"})),
        "major",
        "placeholder 'mode' no longer accepts ['slow']",
    ),
    "output added": (
        lambda: spec(outputs=[{"name": "model"}, {"name": "metrics", "kind": "metrics"}]),
        "minor",
        "output 'train.metrics' added",
    ),
    "output removed": (
        lambda: spec(outputs=[]),
        "major",
        "output 'train.model' removed",
    ),
    "output kind changed": (
        lambda: spec(outputs=[{"name": "model", "kind": "model"}]),
        "major",
        "output 'train.model' kind changed from 'path' to 'model'",
    ),
    "storage added": (
        lambda: spec(
            storages=[{"name": "out", "kind": "output"}, {"name": "raw", "kind": "input"}]
        ),
        "major",
        "storage 'raw' added",
    ),
    "storage removed": (
        lambda: spec(storages=[]),
        "major",
        "storage 'out' removed",
    ),
    "storage kind changed": (
        lambda: spec(storages=[{"name": "out", "kind": "input"}]),
        "major",
        "storage 'out' kind changed from 'output' to 'input'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bump_for_each_kind_of_change(case: str) -> None:
    build, bump, message = CASES[case]
    changes = changes_to(build())
    assert message in [c.message for c in changes], changes
    assert bump_for(changes) == bump
    expected_impact = "breaking" if bump == "major" else "additive"
    assert any(c.impact == expected_impact and c.message == message for c in changes)


def test_renamed_placeholder_is_a_removal_and_an_addition() -> None:
    changes = changes_to(
        spec(placeholders(lr=None, learning_rate={"type": "float", "default": 0.1}))
    )
    assert [c.as_dict() for c in changes] == [
        {"impact": "breaking", "message": "placeholder 'lr' removed"},
        {"impact": "additive", "message": "placeholder 'learning_rate' added"},
    ]


def test_nothing_changed_is_a_patch() -> None:
    assert changes_to(spec()) == []
    assert bump_for([]) == "patch"


def test_description_and_step_details_are_not_the_interface() -> None:
    other = spec().model_copy(update={"description": "new words"})
    assert changes_to(other) == []
    ignored = spec(placeholders(lr={"type": "float", "default": 0.5, "description": "changed"}))
    assert changes_to(ignored) == []


def test_breaking_changes_are_listed_first() -> None:
    changes = changes_to(
        spec(
            placeholders(epochs={"type": "int", "default": 3}, lr=None),
            outputs=[{"name": "model"}, {"name": "extra"}],
        )
    )
    impacts = [c.impact for c in changes]
    assert impacts == sorted(impacts, key=lambda i: i != "breaking")
    assert impacts[0] == "breaking" and "additive" in impacts
    assert bump_for(changes) == "major"


def test_mixed_additive_changes_are_minor() -> None:
    changes = changes_to(
        spec(
            placeholders(epochs={"type": "int", "default": 3}),
            outputs=[{"name": "model"}, {"name": "extra"}],
        )
    )
    assert {c.impact for c in changes} == {"additive"}
    assert bump_for(changes) == "minor"


def algorithm(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "train",
        "boot_file": "train.py",
        "parameters": [{"name": "lr", "type": "float", "default": 0.1}],
        "inputs": ["data"],
        "outputs": ["model"],
    }
    return algorithm_interface(ir.AlgorithmAssetSpec.model_validate({**base, **fields}))


@pytest.mark.parametrize(
    ("fields", "bump", "message"),
    [
        ({}, "patch", None),
        ({"boot_file": "main.py"}, "patch", None),
        ({"inputs": ["data", "labels"]}, "major", "input 'labels' added"),
        ({"inputs": []}, "major", "input 'data' removed"),
        ({"outputs": ["model", "log"]}, "minor", "output 'log' added"),
        ({"outputs": []}, "major", "output 'model' removed"),
        (
            {"parameters": [{"name": "lr", "type": "str", "default": "x"}]},
            "major",
            "parameter 'lr' type changed from 'float' to 'str'",
        ),
        (
            {
                "parameters": [
                    {"name": "lr", "type": "float", "default": 0.1},
                    {"name": "seed", "type": "int", "default": 0},
                ]
            },
            "minor",
            "parameter 'seed' added",
        ),
        (
            {
                "parameters": [
                    {"name": "lr", "type": "float", "default": 0.1},
                    {"name": "seed", "type": "int"},
                ]
            },
            "major",
            "parameter 'seed' added (needs a value)",
        ),
    ],
)
def test_algorithm_interface_bumps(fields: dict[str, Any], bump: str, message: str | None) -> None:
    changes = diff(algorithm(), algorithm(**fields))
    assert bump_for(changes) == bump
    if message is not None:
        assert message in [c.message for c in changes]
