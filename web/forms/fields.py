"""Placeholder values as a form's text and back, and the field that shows one (see the
package's docstring for the rules)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.errors import FieldError
from sdk import spec as ir

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
WIDGETS = {"int", "float", "str", "bool", "enum", "json", "list"}


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()
"""What an empty field holds: no value given."""


# --- values as text and back ------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type (``True`` is not ``1``, ``1`` is not ``"1"``)."""
    return type(a) is type(b) and bool(a == b)


def _json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def choice_values(choices: Sequence[Any]) -> list[str]:
    """How each choice of an enum travels in a form (see the package's docstring)."""
    texts = [c if isinstance(c, str) else _json(c) for c in choices]
    if len(set(texts)) == len(texts):
        return texts
    return [_json(c) for c in choices]


def _choice(placeholder: ir.PlaceholderSpec, text: str) -> Any:
    """The choice a form's text names: by how choices travel, else as a string or JSON typed
    by hand; else the text (the registry says it is not one of them)."""
    choices = placeholder.enum_list or []
    for choice, value in zip(choices, choice_values(choices), strict=True):
        if value == text:
            return choice
    if text in [c for c in choices if isinstance(c, str)]:
        return text
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        return text
    return next((c for c in choices if _same(c, decoded)), text)


def _scalar_line(value: Any) -> str | None:
    """A list element as one line, or None when it cannot be one (then the list is JSON)."""
    if isinstance(value, str):
        if not value or value != value.strip() or "\n" in value or value.startswith("["):
            return None
        return value
    if isinstance(value, bool | int | float):
        return _json(value)
    return None


def value_text(placeholder: ir.PlaceholderSpec, value: Any) -> str:
    """A value as its field shows it (``parse_text`` reads it back to the same value)."""
    if value is None:
        return ""
    kind = placeholder.type
    if kind == "enum":
        choices = placeholder.enum_list or []
        values = choice_values(choices)
        found = [text for c, text in zip(choices, values, strict=True) if _same(c, value)]
        return found[0] if found else value if isinstance(value, str) else _json(value)
    if kind == "json":
        return _json(value, indent=2)
    if kind == "list" and isinstance(value, list):
        lines = [_scalar_line(v) for v in value]
        if value and all(line is not None for line in lines):
            return "\n".join(line for line in lines if line is not None)
        return _json(value)
    return value if isinstance(value, str) else _json(value)


def checkbox(text: str) -> bool:
    """Whether a checkbox's submitted value (the last one) is ticked."""
    return text.strip().lower() in TRUE


def _number(text: str, kind: str) -> Any:
    word = text.strip()
    try:
        if kind == "int":
            return int(word)
        number = float(word)
    except ValueError:
        return text  # not a number: the registry's check says so, by its rule
    return number if math.isfinite(number) else text


def _element(kind: str | None, text: str) -> Any:
    if kind in ("int", "float"):
        return _number(text, kind)
    if kind == "bool":
        word = text.strip().lower()
        return True if word in TRUE else False if word in FALSE else text
    return text


def parse_text(placeholder: ir.PlaceholderSpec, text: str) -> Any:
    """The value of a field's text as the placeholder's type: ``EMPTY`` when the field is
    empty (blank, but for a string, whose spaces are its value), the text itself when it is
    not of the type; ValueError for JSON that does not parse."""
    kind = placeholder.type
    if kind == "str":
        return text if text else EMPTY
    if not text.strip():
        return EMPTY
    if kind in ("int", "float", "bool"):
        return _element(kind, text)
    if kind == "enum":
        return _choice(placeholder, text)
    if kind == "list" and not text.strip().startswith("["):
        lines = (line.strip() for line in text.splitlines())
        return [_element(placeholder.format or "str", line) for line in lines if line]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def read_field(
    placeholder: ir.PlaceholderSpec, text: str, where: str
) -> tuple[Any, FieldError | None]:
    """``parse_text``, its refusal as the error of the field the server names ``where``."""
    try:
        return parse_text(placeholder, text), None
    except ValueError as exc:
        return EMPTY, FieldError(where, "json", str(exc))


# --- fields -----------------------------------------------------------------------------------


@dataclass
class Option:
    value: str
    label: str
    selected: bool


@dataclass
class Field:
    """One input of a form."""

    key: str
    """The form field's name: ``p.NAME`` or ``s.NAME`` (configuration), NAME (a step's form)."""
    id: str
    name: str
    widget: str
    """int, float, str, bool, enum, json, list (placeholders) or root (storages)."""
    kind: str
    """The type in words, e.g. ``list of int``."""
    description: str = ""
    text: str = ""
    checked: bool = False
    options: list[Option] = field(default_factory=list)
    hint: str = ""
    """The default, or what a value looks like."""
    required: bool = False
    error: str | None = None

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def described_by(self) -> str:
        return f"{self.error_id} {self.help_id}" if self.error else self.help_id


def kind_words(placeholder: ir.PlaceholderSpec) -> str:
    if placeholder.type == "list":
        return f"list of {placeholder.format or 'values'}"
    if placeholder.type == "json":
        return "JSON object or array"
    if placeholder.format:
        return f"{placeholder.type} ({placeholder.format})"
    return placeholder.type


def hint(placeholder: ir.PlaceholderSpec, space: str = "") -> str:
    """The default, else what a value looks like."""
    if placeholder.default is not None:
        if placeholder.type in ("json", "list"):  # one line, as JSON
            return f"default: {_json(placeholder.default)}"
        return f"default: {value_text(placeholder, placeholder.default)}"
    if space and placeholder.format and placeholder.format.startswith("obs"):
        return f"a path inside {space}"
    if placeholder.type == "list":
        return "one item per line, or a JSON array"
    if placeholder.type == "json":
        return 'JSON, e.g. {"key": 1} or [1, 2]'
    return ""


def field_for(
    placeholder: ir.PlaceholderSpec,
    value: Any,
    *,
    key: str,
    element_id: str,
    space: str = "",
    submitted: str | None = None,
    error: str | None = None,
) -> Field:
    """The field of one placeholder showing ``value``, or the text the user sent (after a
    refusal, so nothing typed is lost)."""
    made = Field(
        key=key,
        id=element_id,
        name=placeholder.name,
        widget=placeholder.type if placeholder.type in WIDGETS else "str",
        kind=kind_words(placeholder),
        description=placeholder.description,
        hint=hint(placeholder, space),
        required=placeholder.required and placeholder.default is None,
        error=error,
    )
    if made.widget == "bool":
        shown = value if value is not None else placeholder.default
        made.checked = checkbox(submitted) if submitted is not None else shown is True
        return made
    made.text = submitted if submitted is not None else value_text(placeholder, value)
    if made.widget == "enum":
        default = placeholder.default
        empty = "choose one" if default is None else f"default ({value_text(placeholder, default)})"
        made.options = [Option("", empty, made.text == "")] + [
            Option(v, v, v == made.text) for v in choice_values(placeholder.enum_list or [])
        ]
    return made


def errors_by_field(
    errors: Iterable[FieldError], key_of: Callable[[str], str | None]
) -> tuple[dict[str, str], list[str]]:
    """The server's errors by the form field they name (``key_of`` of the error's field; the
    messages of one field joined), and the others as "field: message" for the form's top."""
    by_key: dict[str, str] = {}
    general: list[str] = []
    for error in errors:
        key = key_of(error.field)
        if key is None:
            general.append(f"{error.field}: {error.message}")
        else:
            by_key[key] = f"{by_key[key]}; {error.message}" if key in by_key else error.message
    return by_key, general
