"""The typed fields of the console's forms (web/forms): what a field shows and reads back."""

from __future__ import annotations

from typing import Any

import pytest

from sdk import spec as ir
from web.forms.fields import hint, parse_text, value_text


def placeholder(kind: str, default: Any = None, **more: Any) -> ir.PlaceholderSpec:
    return ir.PlaceholderSpec(name="p", type=kind, default=default, **more)


@pytest.mark.parametrize(
    ("kind", "default", "shown"),
    [
        ("json", {"epochs": 5, "lr": 0.1}, 'default: {"epochs": 5, "lr": 0.1}'),
        ("list", ["a", "b"], 'default: ["a", "b"]'),
        ("int", 3, "default: 3"),
        ("str", "model-v1", "default: model-v1"),
        ("bool", False, "default: false"),
    ],
)
def test_a_default_is_shown_on_one_readable_line(kind: str, default: Any, shown: str) -> None:
    assert hint(placeholder(kind, default)) == shown


@pytest.mark.parametrize(
    ("kind", "value"),
    [("json", {"a": [1, 2], "b": None}), ("list", ["x", "y"]), ("int", 7), ("float", 0.5)],
)
def test_a_value_shown_in_its_field_reads_back_the_same(kind: str, value: Any) -> None:
    spec = placeholder(kind)
    assert parse_text(spec, value_text(spec, value)) == value
