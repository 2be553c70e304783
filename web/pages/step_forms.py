"""Typed form fields for placeholder values (a waiting step's Continue form, a step's Retry
form): what each field shows, and the submitted text read back as the placeholder's type.

Reading is lenient on purpose: text that is not a number is sent as the text, and the
registry's own check (``check_continue`` / ``check_retry``) refuses it with its message, so a
value has one rule wherever it is given. Only JSON that does not parse is refused here (the
registry would only see a string, and the parser knows where the JSON breaks).

A checkbox is preceded by a hidden ``false`` of the same name: the browser sends both when it
is ticked (the last one counts), and the field is known to have been on the form either way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.errors import FieldError
from sdk import spec as ir

TRUE_WORDS = ("true", "on", "1", "yes")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""An empty field: no value given."""


@dataclass(frozen=True)
class Field:
    """One input of a form, ready for the template's ``field`` macro."""

    name: str
    type: str
    widget: str
    """``int``, ``float`` (number inputs), ``checkbox``, ``select``, ``textarea`` or ``text``."""
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    """(submitted value, shown text) of a select."""
    description: str = ""
    hint: str = ""
    required: bool = False
    error: str | None = None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def option_value(item: Any) -> str:
    """How an enum choice travels in a form (its JSON, so 1 and "1" stay apart)."""
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def _hint(placeholder: ir.PlaceholderSpec) -> str:
    if placeholder.type == "json":
        return 'JSON, e.g. {"key": 1} or [1, 2]'
    if placeholder.type == "list":
        element = placeholder.format or "any"
        return f"a JSON list, or one item per line (items: {element})"
    if placeholder.type == "int":
        return "a whole number"
    if placeholder.type == "float":
        return "a number"
    return ""


def field_for(
    placeholder: ir.PlaceholderSpec,
    value: Any,
    *,
    submitted: str | None = None,
    error: str | None = None,
) -> Field:
    """The field of one placeholder showing ``value`` (or the text the user sent, after a
    refusal, so nothing typed is lost)."""
    kind = placeholder.type
    text = submitted if submitted is not None else _as_text(value)
    common: dict[str, Any] = {
        "name": placeholder.name,
        "type": kind,
        "description": placeholder.description,
        "hint": _hint(placeholder),
        "required": placeholder.required,
        "error": error,
    }
    if kind == "bool":
        checked = submitted.lower() in TRUE_WORDS if submitted is not None else value is True
        return Field(widget="checkbox", checked=checked, **common)
    if kind == "enum":
        options = [(option_value(item), _as_text(item)) for item in placeholder.enum_list or []]
        chosen = submitted if submitted is not None else option_value(value)
        return Field(widget="select", value=chosen, options=options, **common)
    if kind in ("json", "list"):
        if submitted is None and value is not None:
            text = json.dumps(value, ensure_ascii=False, indent=2 if kind == "json" else None)
        return Field(widget="textarea", value=text, **common)
    if kind in ("int", "float"):
        return Field(widget=kind, value=text, **common)
    return Field(widget="text", value=text, **common)


def _number(text: str, kind: str) -> Any:
    stripped = text.strip()
    try:
        if kind == "int":
            return int(stripped)
        value = float(stripped)
    except ValueError:
        return text  # the registry says why it is not a number
    return value if math.isfinite(value) else text


def _element(text: str, kind: str | None) -> Any:
    if kind == "int" or kind == "float":
        return _number(text, kind)
    if kind == "bool":
        lowered = text.strip().lower()
        return True if lowered == "true" else False if lowered == "false" else text
    return text


def parse(placeholder: ir.PlaceholderSpec, text: str, prefix: str) -> tuple[Any, FieldError | None]:
    """The value of a submitted field as the placeholder's type: ``MISSING`` when empty,
    the text itself when it is not of the type (the registry refuses it, naming the rule),
    or a field error for JSON that does not parse."""
    kind = placeholder.type
    where = f"{prefix}.{placeholder.name}"
    if kind == "bool":
        return text.strip().lower() in TRUE_WORDS, None
    if kind == "str":
        return text, None
    if not text.strip():
        return MISSING, None
    if kind in ("int", "float"):
        return _number(text, kind), None
    if kind == "enum":
        for item in placeholder.enum_list or []:
            if text == option_value(item):
                return item, None
        return text, None
    if kind == "list" and not text.lstrip().startswith("["):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return [_element(line, placeholder.format) for line in lines], None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return MISSING, FieldError(where, "json", message)


def read_values(
    placeholders: Iterable[ir.PlaceholderSpec], form: Mapping[str, str], prefix: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """The values of the placeholders whose fields were sent (empty ones left out), and the
    errors of the ones that could not be read."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for placeholder in placeholders:
        if placeholder.name not in form:
            continue
        value, error = parse(placeholder, form[placeholder.name], prefix)
        if error is not None:
            errors.append(error)
        elif value is not MISSING:
            values[placeholder.name] = value
    return values, errors


def changed(values: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from ``before`` (what a Retry form sends: only changes)."""
    return {
        name: value
        for name, value in values.items()
        if name not in before or not _same(value, before[name])
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def errors_by_field(
    errors: Iterable[FieldError], prefix: str, known: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """Errors of the form's fields (``prefix.NAME``, NAME one of ``known``) by NAME, and the
    others as "field: message" for the top of the form."""
    fields = set(known)
    by_name: dict[str, str] = {}
    general: list[str] = []
    start = prefix + "."
    for error in errors:
        name = error.field[len(start) :] if error.field.startswith(start) else ""
        if name in fields:
            by_name[name] = (
                f"{by_name[name]}; {error.message}" if name in by_name else error.message
            )
        else:
            general.append(f"{error.field}: {error.message}")
    return by_name, general
