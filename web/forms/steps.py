"""A step's Continue and Retry forms on the execution page: fields named by the placeholder,
read back as typed values (an empty string field is the empty string: the step asks for it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.errors import FieldError
from sdk import spec as ir
from web.forms.fields import EMPTY, Field, checkbox, errors_by_field, field_for, read_field

# --- a step's Continue and Retry forms ----------------------------------------------------------


STEP_WIDGETS = {"bool": "checkbox", "enum": "select", "json": "textarea", "list": "textarea"}


@dataclass(frozen=True)
class StepField:
    """A ``Field`` in the words of the execution page's ``field`` macro (``_run_macros.html``):
    its widget is the control (checkbox, select, textarea, int, float, text), its options are
    (value, shown text) pairs, and the placeholder's name is the input's."""

    name: str
    type: str
    widget: str
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""
    hint: str = ""
    required: bool = False
    error: str | None = None

    @classmethod
    def of(cls, made: Field) -> StepField:
        widget = made.widget if made.widget in ("int", "float") else "text"
        return cls(
            name=made.key,
            type=made.kind,
            widget=STEP_WIDGETS.get(made.widget, widget),
            value=made.text,
            checked=made.checked,
            options=[(o.value, o.label) for o in made.options],
            description=made.description,
            hint=made.hint,
            required=made.required,
            error=made.error,
        )


def step_fields(
    placeholders: Iterable[ir.PlaceholderSpec],
    values: Mapping[str, Any],
    *,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[StepField]:
    """A step form's fields showing ``values`` (a placeholder's default where it has none),
    or what was ``submitted`` with the ``errors`` by name."""
    return [
        StepField.of(
            field_for(
                p,
                values.get(p.name, p.default),
                key=p.name,
                element_id=p.name,
                submitted=submitted.get(p.name) if submitted is not None else None,
                error=(errors or {}).get(p.name),
            )
        )
        for p in placeholders
    ]


def step_errors(
    errors: Iterable[FieldError], prefix: str, known: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """``errors_by_field`` for a step's form: ``prefix.NAME`` (NAME one of ``known``) is the
    field NAME."""
    names = set(known)
    start = prefix + "."

    def key_of(name: str) -> str | None:
        rest = name.removeprefix(start) if name.startswith(start) else None
        return rest if rest in names else None

    return errors_by_field(errors, key_of)


def read_values(
    placeholders: Iterable[ir.PlaceholderSpec], form: Mapping[str, str], prefix: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """The values of the placeholders whose fields were sent (empty ones left out, but an
    empty string is a string's value: the step asks for it now), and the errors (named
    ``prefix.NAME``) of the ones that could not be read."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for placeholder in placeholders:
        if placeholder.name not in form:
            continue
        text = form[placeholder.name]
        if placeholder.type == "bool":
            values[placeholder.name] = checkbox(text)
            continue
        value, error = read_field(placeholder, text, f"{prefix}.{placeholder.name}")
        if error is not None:
            errors.append(error)
        elif value is not EMPTY:
            values[placeholder.name] = value
        elif placeholder.type == "str":
            values[placeholder.name] = ""
    return values, errors


def changed(values: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from ``before`` (what a Retry form sends: only changes)."""
    return {
        name: value
        for name, value in values.items()
        if name not in before or not _same_value(value, before[name])
    }


def _same_value(a: Any, b: Any) -> bool:
    """Equal, a bool only to a bool (``1.0`` is ``1``, ``0`` is not ``False``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)
