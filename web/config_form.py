"""A runtime workflow's configuration form: one typed field per placeholder, a root per
storage and the scene, built from the spec and the saved configuration (or from a submitted
form, so nothing typed is lost when the server refuses it), and read back into a typed
``WorkflowConfig``.

Form fields are named ``p.NAME`` (placeholders), ``s.NAME`` (storage roots) and ``scene``;
a server field error (``placeholders.NAME``, ``storages.NAME``, ``scene``, and the start's
``parameters.NAME`` / ``config.…``) lands on the field it names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.errors import FieldError
from registry.workspaces.schemas import WorkflowConfig
from sdk import spec as ir

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
NEEDS_VALUE = "needs a value to start"
WIDGETS = {"int", "float", "str", "bool", "enum", "json", "list"}

Submitted = Mapping[str, list[str]]
"""A submitted form: every value of each field (``web.render.form_lists``)."""


@dataclass
class Option:
    value: str
    label: str
    selected: bool


@dataclass
class Field:
    """One input of the form, as the template draws it."""

    key: str
    """The form field's name: ``p.NAME`` or ``s.NAME``."""
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
    """Shown in an empty input: the default, or what a value looks like."""
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


@dataclass
class SceneChoice:
    value: str
    """``""``: every step."""
    label: str
    steps: list[str]
    selected: bool


@dataclass
class ConfigForm:
    parameters: list[Field]
    delayed: list[ir.PlaceholderSpec]
    storages: list[Field]
    scenes: list[SceneChoice]
    space: str
    scene_error: str | None = None
    problems: list[str] = field(default_factory=list)
    """Errors that name no field of the form."""
    missing: list[str] = field(default_factory=list)
    refused: str = "Not saved: correct these values."
    """What the list of refused values is headed with."""

    @property
    def invalid(self) -> list[Field]:
        """Fields with an error other than a missing value (the notice lists those)."""
        fields = [*self.parameters, *self.storages]
        return [f for f in fields if f.error and f.error != NEEDS_VALUE]


# --- values as text and back ------------------------------------------------------------------


def enum_text(choice: Any) -> str:
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return choice if isinstance(choice, str) else json.dumps(choice)


def _scalar_line(value: Any) -> str | None:
    """A list element as one line, or None when it cannot be one (then the list is JSON)."""
    if isinstance(value, str):
        if not value or value != value.strip() or "\n" in value or value.startswith("["):
            return None
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def value_text(placeholder: ir.PlaceholderSpec, value: Any) -> str:
    """A value as the form shows it (``parse_text`` reads it back to the same value)."""
    if value is None:
        return ""
    kind = placeholder.type
    if kind in ("int", "str"):
        return str(value)
    if kind == "float":
        return json.dumps(value)
    if kind == "enum":
        return enum_text(value)
    if kind == "list" and isinstance(value, list):
        lines = [_scalar_line(v) for v in value]
        if value and all(line is not None for line in lines):
            return "\n".join(line for line in lines if line is not None)
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, indent=2, ensure_ascii=False)


def _number(text: str, kind: str) -> Any:
    word = text.strip()
    try:
        if kind == "int":
            return int(word)
        number = float(word)
    except ValueError:
        return text  # not a number: the registry's check says so, by its rule
    return number if math.isfinite(number) else text


def _element(kind: str, text: str) -> Any:
    if kind in ("int", "float"):
        return _number(text, kind)
    if kind == "bool":
        word = text.strip().lower()
        return True if word in TRUE else False if word in FALSE else text
    return text


def parse_text(placeholder: ir.PlaceholderSpec, text: str) -> Any:
    """The value of a field's text as the placeholder's type; None when it is empty.

    Reading is lenient: text that is not of the type stays text, and the registry's check
    (``validate_config``) refuses it with its own message, so a value has one rule wherever
    it is given. Only JSON that does not parse is refused here (ValueError): the registry
    would only see a string, and the parser knows where it breaks."""
    if not text or (not text.strip() and placeholder.type != "str"):
        return None
    kind = placeholder.type
    if kind == "str":
        return text
    if kind in ("int", "float", "bool"):
        return _element(kind, text)
    if kind == "enum":
        choices = placeholder.enum_list or []
        found = [c for c in choices if c == text] or [c for c in choices if enum_text(c) == text]
        return found[0] if found else text
    if kind == "list" and not text.strip().startswith("["):
        lines = (line.strip() for line in text.splitlines())
        return [_element(placeholder.format or "str", line) for line in lines if line]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


# --- building the form ------------------------------------------------------------------------


def kind_words(placeholder: ir.PlaceholderSpec) -> str:
    if placeholder.type == "list":
        return f"list of {placeholder.format or 'values'}"
    if placeholder.type == "json":
        return "JSON object or array"
    if placeholder.format:
        return f"{placeholder.type} ({placeholder.format})"
    return placeholder.type


def _hint(placeholder: ir.PlaceholderSpec, space: str) -> str:
    if placeholder.default is not None:
        text = value_text(placeholder, placeholder.default).replace("\n", ", ")
        return f"default: {text}"
    if placeholder.format and placeholder.format.startswith("obs"):
        return f"a path inside {space}"
    if placeholder.type == "list":
        return "one item per line, or a JSON array"
    return ""


def error_key(name: str) -> str | None:
    """The form field a server error names: ``placeholders.x``, ``parameters.x`` and
    ``config.placeholders.x`` → ``p.x``; ``storages.x`` and ``config.storages.x`` → ``s.x``;
    ``scene`` → ``scene``; anything else → None."""
    head, _, rest = name.removeprefix("config.").partition(".")
    if head in ("placeholders", "parameters") and rest:
        return f"p.{rest}"
    if head == "storages" and rest:
        return f"s.{rest}"
    if head == "scene" and not rest:
        return "scene"
    return None


def _last(submitted: Submitted, key: str) -> str:
    values = submitted.get(key) or [""]
    return values[-1]


def _placeholder_field(
    placeholder: ir.PlaceholderSpec,
    saved: Any,
    space: str,
    submitted: Submitted | None,
) -> Field:
    key = f"p.{placeholder.name}"
    made = Field(
        key=key,
        id=f"p-{placeholder.name}",
        name=placeholder.name,
        widget=placeholder.type if placeholder.type in WIDGETS else "str",
        kind=kind_words(placeholder),
        description=placeholder.description,
        hint=_hint(placeholder, space),
        required=placeholder.required and placeholder.default is None,
    )
    if made.widget == "bool":
        if submitted is not None and key in submitted:
            made.checked = "true" in submitted[key]
        else:
            made.checked = bool(saved if saved is not None else placeholder.default)
        return made
    if submitted is not None and key in submitted:
        made.text = _last(submitted, key)
    else:
        made.text = value_text(placeholder, saved)
    if made.widget == "enum":
        default = placeholder.default
        empty = "choose one" if default is None else f"default ({enum_text(default)})"
        made.options = [Option("", empty, made.text == "")] + [
            Option(enum_text(c), enum_text(c), enum_text(c) == made.text)
            for c in placeholder.enum_list or []
        ]
    return made


def build_form(
    spec: ir.WorkflowSpec,
    config: WorkflowConfig,
    space: str,
    *,
    submitted: Submitted | None = None,
    errors: Iterable[FieldError] = (),
    missing: Iterable[str] = (),
) -> ConfigForm:
    """The form for ``spec`` showing the saved ``config``, or what was ``submitted``, with
    ``errors`` beside the fields they name and the ``missing`` ones marked."""
    parameters = [
        _placeholder_field(p, config.placeholders.get(p.name), space, submitted)
        for p in spec.placeholders
        if not p.delay
    ]
    storages = []
    for storage in spec.storages:
        key = f"s.{storage.name}"
        text = config.storages.get(storage.name, "")
        if submitted is not None and key in submitted:
            text = _last(submitted, key)
        storages.append(
            Field(
                key=key,
                id=f"s-{storage.name}",
                name=storage.name,
                widget="root",
                kind=f"{storage.kind} storage",
                description=storage.description or storage.title,
                text=text,
                hint=f"{space}…/",
            )
        )
    scene = config.scene or ""
    if submitted is not None and "scene" in submitted:
        scene = _last(submitted, "scene")
    scenes = [SceneChoice("", "Every step", [s.name for s in spec.steps], scene == "")]
    scenes += [SceneChoice(s.name, s.name, list(s.steps), scene == s.name) for s in spec.scenes]
    form = ConfigForm(
        parameters=parameters,
        delayed=[p for p in spec.placeholders if p.delay],
        storages=storages,
        scenes=scenes,
        space=space,
    )
    by_key = {f.key: f for f in [*parameters, *storages]}
    wanted = [name for name in missing if f"p.{name}" in by_key]
    form.missing = wanted
    for name in wanted:
        by_key[f"p.{name}"].error = NEEDS_VALUE
    for error in errors:
        named = error_key(error.field)
        target = by_key.get(named) if named else None
        if target is not None:
            target.error = error.message
        elif named == "scene":
            form.scene_error = error.message
        else:
            form.problems.append(f"{error.field}: {error.message}")
    return form


# --- reading it back --------------------------------------------------------------------------


def read_form(
    spec: ir.WorkflowSpec, saved: WorkflowConfig, submitted: Submitted
) -> tuple[WorkflowConfig, list[FieldError]]:
    """The configuration a submitted form asks for, and the fields whose JSON does not parse
    (named as the server names fields: ``placeholders.NAME``). A field the form did not send
    keeps its saved value; an empty one is unset."""
    known = {p.name for p in spec.placeholders}
    values = {k: v for k, v in saved.placeholders.items() if k in known and v is not None}
    errors: list[FieldError] = []
    for placeholder in spec.placeholders:
        key = f"p.{placeholder.name}"
        if placeholder.delay or key not in submitted:
            continue
        if placeholder.type == "bool":
            state = "true" in submitted[key]
            if placeholder.name not in values and state == bool(placeholder.default):
                continue  # still the default: nothing to pin
            values[placeholder.name] = state
            continue
        try:
            value = parse_text(placeholder, _last(submitted, key))
        except ValueError as exc:
            errors.append(
                FieldError(f"placeholders.{placeholder.name}", placeholder.type, str(exc))
            )
            values.pop(placeholder.name, None)
            continue
        if value is None:
            values.pop(placeholder.name, None)
        else:
            values[placeholder.name] = value
    names = {s.name for s in spec.storages}
    roots = {k: v for k, v in saved.storages.items() if k in names}
    for storage in spec.storages:
        key = f"s.{storage.name}"
        if key in submitted:
            root = _last(submitted, key).strip()
            if root:
                roots[storage.name] = root
            else:
                roots.pop(storage.name, None)
    scene = saved.scene
    if "scene" in submitted:
        scene = _last(submitted, "scene").strip() or None
    return WorkflowConfig(placeholders=values, storages=roots, scene=scene), errors
