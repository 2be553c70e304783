"""Placeholders: typed values a workflow's user supplies before a run or when a step is reached."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

from sdk._errors import WorkflowDefinitionError
from sdk.spec import LIST_FORMATS, NAME_RE, NAME_RULE, PlaceholderSpec, value_matches


class PlaceholderType(StrEnum):
    INT = "int"
    STR = "str"
    BOOL = "bool"
    FLOAT = "float"
    ENUM = "enum"
    JSON = "json"
    LIST = "list"


def check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise WorkflowDefinitionError(f"{kind} name {name!r} is not valid ({NAME_RULE})")
    return name


def _plain(value: Any) -> Any:
    """Constraint settings as JSON: enum members as their values, placeholders as refs."""
    if isinstance(value, Placeholder):
        return {"ref": "placeholder", "name": value.name}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Placeholder:
    """A typed value chosen when the workflow is configured (or, with ``delay``, at its step)."""

    def __init__(
        self,
        name: str,
        placeholder_type: PlaceholderType | str,
        default: Any = None,
        placeholder_format: str | None = None,
        delay: bool = False,
        description: str | None = None,
        enum_list: list[Any] | None = None,
        constraint: dict[str, Any] | None = None,
        required: bool = True,
    ) -> None:
        self.name = check_name("placeholder", name)
        try:
            kind = PlaceholderType(getattr(placeholder_type, "value", placeholder_type))
        except ValueError:
            choices = ", ".join(t.name for t in PlaceholderType)
            raise WorkflowDefinitionError(
                f"placeholder {name!r}: unknown placeholder_type {placeholder_type!r} "
                f"(one of {choices})"
            ) from None
        self.placeholder_type = kind
        self.default = default
        self.placeholder_format = placeholder_format
        self.delay = delay
        self.description = description or ""
        self.enum_list = list(enum_list) if enum_list is not None else None
        self.constraint = constraint
        self.required = required
        self._check()

    def _check(self) -> None:
        where = f"placeholder {self.name!r}"
        kind = self.placeholder_type
        if kind is PlaceholderType.ENUM and not self.enum_list:
            raise WorkflowDefinitionError(
                f"{where}: an ENUM placeholder needs a non-empty enum_list"
            )
        if kind is not PlaceholderType.ENUM and self.enum_list is not None:
            raise WorkflowDefinitionError(f"{where}: enum_list is only for ENUM placeholders")
        if kind is PlaceholderType.LIST and self.placeholder_format not in LIST_FORMATS:
            raise WorkflowDefinitionError(
                f"{where}: a LIST placeholder needs placeholder_format, one of "
                f"{list(LIST_FORMATS)} (got {self.placeholder_format!r})"
            )
        if self.delay and not self.required:
            raise WorkflowDefinitionError(
                f"{where}: delay=True asks for the value when the step is reached, so it cannot "
                "also be optional (required=False)"
            )
        if self.default is not None:
            problem = value_matches(self.spec(), self.default)
            if problem:
                raise WorkflowDefinitionError(f"{where}: default {problem}")

    def constraint_values(self) -> dict[str, Any]:
        """What narrows this placeholder's values (the manual's ``constraint``; a data
        placeholder's kind of data or model); compiled into its spec's ``constraint``."""
        return dict(self.constraint or {})

    def nested(self) -> list[Placeholder]:
        """Placeholders this one's constraint refers to (a service input's model name)."""
        return [v for v in self.constraint_values().values() if isinstance(v, Placeholder)]

    def spec(self) -> PlaceholderSpec:
        constraint = _plain(self.constraint_values())
        return PlaceholderSpec(
            name=self.name,
            type=self.placeholder_type.value,
            default=self.default,
            enum_list=self.enum_list,
            format=self.placeholder_format,
            delay=self.delay,
            required=self.required,
            description=self.description,
            constraint=constraint or None,
        )

    def __repr__(self) -> str:
        return f"Placeholder({self.name!r}, {self.placeholder_type.name})"
