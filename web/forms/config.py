"""A workflow's configuration form: one typed field per placeholder (``p.NAME``), a root per
storage (``s.NAME``) and the scene, built from the spec and the saved configuration (or from a
submitted form, so nothing typed is lost when the server refuses it), and read back into a
typed ``WorkflowConfig``. A server field error (``placeholders.NAME``, ``storages.NAME``,
``scene``, and the start's ``parameters.NAME`` / ``config.…``) lands on the field it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from registry.errors import FieldError
from registry.workspaces.schemas import WorkflowConfig
from sdk import spec as ir
from web.forms.fields import EMPTY, Field, checkbox, errors_by_field, field_for, read_field

NEEDS_VALUE = "needs a value to start"

Submitted = Mapping[str, list[str]]
"""A submitted form: every value of each field (``web.render.form_lists``)."""


# --- a workflow's configuration form ------------------------------------------------------------


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


def _last(submitted: Submitted | None, key: str) -> str | None:
    """A field's last submitted value; None when the form did not send it."""
    if submitted is None or key not in submitted:
        return None
    return (submitted[key] or [""])[-1]


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
        field_for(
            p,
            config.placeholders.get(p.name),
            key=f"p.{p.name}",
            element_id=f"p-{p.name}",
            space=space,
            submitted=_last(submitted, f"p.{p.name}"),
        )
        for p in spec.placeholders
        if not p.delay
    ]
    storages = []
    for storage in spec.storages:
        key = f"s.{storage.name}"
        sent = _last(submitted, key)
        storages.append(
            Field(
                key=key,
                id=f"s-{storage.name}",
                name=storage.name,
                widget="root",
                kind=f"{storage.kind} storage",
                description=storage.description or storage.title,
                text=sent if sent is not None else config.storages.get(storage.name, ""),
                hint=f"{space}…/",
            )
        )
    scene = _last(submitted, "scene")
    scene = scene if scene is not None else config.scene or ""
    scenes = [SceneChoice("", "Every step", [s.name for s in spec.steps], scene == "")]
    scenes += [SceneChoice(s.name, s.name, list(s.steps), scene == s.name) for s in spec.scenes]
    fields = {f.key: f for f in [*parameters, *storages]}
    wanted = [name for name in missing if f"p.{name}" in fields]
    for name in wanted:
        fields[f"p.{name}"].error = NEEDS_VALUE

    def key_of(name: str) -> str | None:
        key = error_key(name)
        return key if key in fields or key == "scene" else None

    by_key, problems = errors_by_field(errors, key_of)
    for key, message in by_key.items():
        if key in fields:
            fields[key].error = message
    return ConfigForm(
        parameters=parameters,
        delayed=[p for p in spec.placeholders if p.delay],
        storages=storages,
        scenes=scenes,
        space=space,
        scene_error=by_key.get("scene"),
        problems=problems,
        missing=wanted,
    )


def read_form(
    spec: ir.WorkflowSpec, saved: WorkflowConfig, submitted: Submitted
) -> tuple[WorkflowConfig, list[FieldError]]:
    """The configuration a submitted form asks for, and the fields whose JSON does not parse
    (named as the server names fields: ``placeholders.NAME``). A field the form did not send
    keeps its saved value; an empty one is unset (the default applies)."""
    known = {p.name for p in spec.placeholders}
    values = {k: v for k, v in saved.placeholders.items() if k in known and v is not None}
    errors: list[FieldError] = []
    for placeholder in spec.placeholders:
        text = _last(submitted, f"p.{placeholder.name}")
        if placeholder.delay or text is None:
            continue
        if placeholder.type == "bool":
            state = checkbox(text)
            if placeholder.name in values or state != bool(placeholder.default):
                values[placeholder.name] = state  # else still the default: nothing to pin
            continue
        value, error = read_field(placeholder, text, f"placeholders.{placeholder.name}")
        if error is not None:
            errors.append(error)
        if value is EMPTY:
            values.pop(placeholder.name, None)
        else:
            values[placeholder.name] = value
    names = {s.name for s in spec.storages}
    roots = {k: v for k, v in saved.storages.items() if k in names}
    for storage in spec.storages:
        root = _last(submitted, f"s.{storage.name}")
        if root is not None and root.strip():
            roots[storage.name] = root.strip()
        elif root is not None:
            roots.pop(storage.name, None)
    scene = _last(submitted, "scene")
    chosen = saved.scene if scene is None else scene.strip() or None
    return WorkflowConfig(placeholders=values, storages=roots, scene=chosen), errors
