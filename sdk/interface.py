"""Interfaces of published assets and the diff between two of them (for semver bumps).

A workflow's interface is what its users configure and consume: placeholders, storages and
step outputs. An algorithm's is its parameters, inputs and outputs. The diff classifies each
change: ``breaking`` (a major bump), ``additive`` (minor) or nothing (patch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sdk.spec import AlgorithmAssetSpec, WorkflowSpec

Impact = Literal["breaking", "additive"]
Bump = Literal["major", "minor", "patch"]


@dataclass(frozen=True)
class Change:
    impact: Impact
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"impact": self.impact, "message": self.message}


def workflow_interface(spec: WorkflowSpec) -> dict[str, Any]:
    return {
        "placeholders": {
            p.name: {
                "type": p.type,
                "format": p.format,
                "needs_value": p.required and p.default is None,
                "enum_list": p.enum_list,
            }
            for p in spec.placeholders
        },
        "storages": {s.name: {"kind": s.kind} for s in spec.storages},
        "outputs": {f"{s.name}.{o.name}": {"kind": o.kind} for s in spec.steps for o in s.outputs},
    }


def algorithm_interface(spec: AlgorithmAssetSpec) -> dict[str, Any]:
    return {
        "parameters": {
            p.name: {"type": p.type, "needs_value": p.default is None} for p in spec.parameters
        },
        "inputs": {name: {} for name in spec.inputs},
        "outputs": {name: {} for name in spec.outputs},
    }


# What it means to add an entry to a section: new outputs are additive; a new input or storage
# has to be configured by every user, so it breaks them; placeholders and parameters depend on
# whether they need a value.
_ADDED: dict[str, Impact | None] = {
    "placeholders": None,
    "parameters": None,
    "storages": "breaking",
    "inputs": "breaking",
    "outputs": "additive",
}
_NOUN = {
    "placeholders": "placeholder",
    "parameters": "parameter",
    "storages": "storage",
    "inputs": "input",
    "outputs": "output",
}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes from ``old`` to ``new`` interface, breaking ones first."""
    changes: list[Change] = []
    for section in sorted(set(old) | set(new)):
        before: dict[str, Any] = old.get(section, {})
        after: dict[str, Any] = new.get(section, {})
        noun = _NOUN.get(section, section)
        for name in sorted(set(before) - set(after)):
            changes.append(Change("breaking", f"{noun} {name!r} removed"))
        for name in sorted(set(after) - set(before)):
            impact = _ADDED.get(section) or (
                "breaking" if after[name].get("needs_value") else "additive"
            )
            what = (
                " (needs a value)"
                if impact == "breaking" and section in ("placeholders", "parameters")
                else ""
            )
            changes.append(Change(impact, f"{noun} {name!r} added{what}"))
        for name in sorted(set(before) & set(after)):
            changes.extend(_entry_changes(noun, name, before[name], after[name]))
    return sorted(changes, key=lambda c: c.impact != "breaking")


def _entry_changes(noun: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for key in ("type", "format", "kind"):
        if old.get(key) != new.get(key):
            changes.append(
                Change(
                    "breaking",
                    f"{noun} {name!r} {key} changed from {old.get(key)!r} to {new.get(key)!r}",
                )
            )
    if new.get("needs_value") and not old.get("needs_value"):
        changes.append(Change("breaking", f"{noun} {name!r} now needs a value"))
    old_enum, new_enum = old.get("enum_list"), new.get("enum_list")
    if old_enum is not None and new_enum is not None and old_enum != new_enum:
        lost = [v for v in old_enum if v not in new_enum]
        gained = [v for v in new_enum if v not in old_enum]
        if lost:
            changes.append(Change("breaking", f"{noun} {name!r} no longer accepts {lost}"))
        if gained:
            changes.append(Change("additive", f"{noun} {name!r} now also accepts {gained}"))
    return changes


def bump_for(changes: list[Change]) -> Bump:
    if any(c.impact == "breaking" for c in changes):
        return "major"
    if changes:
        return "minor"
    return "patch"
