"""Path parameters, typed once: what each kind of id looks like, and the one answer to an id
that cannot be one.

Every ``{…}`` in a route's path is declared with a type from here (``content_id: ContentId``).
Litestar checks it against its kind's rule (the pattern and length below, also published in
the OpenAPI document) before any dependency's answer reaches the handler, so no service sees a
NUL byte, a value longer than its column or a string that could never name a row.

A value that breaks its rule names something that cannot exist, and is answered like an absent
one: 404 with the kind's own "no …" sentence (``ill_formed`` finds it; ``ill_formed_path``,
installed on each area's router by ``EXCEPTION_HANDLERS``, answers it as problem details, and
the web console's pages answer it as their HTML error page). Ids that arrive elsewhere (e.g.
``?ids=`` of a comparison, ``?step=`` of a page) are held to the same rule with
``IdKind.checked`` (``well_formed``, else ``not_found``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.params import PathParameter

from registry.accounts.service import MAX_ROW_ID
from registry.errors import NotFound
from registry.problems import gallery_error, validation_error
from sdk.vocabulary import NAME_PATTERN, NAME_RULE

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
VERSION_PATTERN = r"^[0-9][0-9A-Za-z.+-]{0,127}$"
"""Every semantic version (what publishing accepts) within the 128 characters of the column."""


@dataclass(frozen=True)
class IdKind:
    """One kind of id: its rule and the sentence for one that does not exist.

    ``missing`` is formatted with the value as ``value`` and the request's other path
    parameters by name (a version's sentence names its asset).
    """

    pattern: str
    max_length: int
    rule: str
    missing: str

    def well_formed(self, value: object) -> bool:
        return (
            isinstance(value, str)
            and len(value) <= self.max_length
            and re.fullmatch(self.pattern, value) is not None
        )

    def not_found(self, value: object, **path: object) -> NotFound:
        return NotFound(self.missing.format(value=value, **path))

    def checked(self, value: str, **path: object) -> str:
        """``value`` when it is well formed, else the 404 of an absent one (``path``: the other
        ids its sentence names, e.g. a step's ``execution_id``)."""
        if not self.well_formed(value):
            raise self.not_found(value, **path)
        return value

    def parameter(self, description: str) -> PathParameter:
        """The path parameter declaring this rule; its description ends with the rule."""
        return PathParameter(
            # Python's ``$`` also matches before a final newline (and the check searches with
            # Python's ``re``): refuse one there. The OpenAPI document keeps the plain pattern,
            # exact in the ECMA dialect JSON Schema uses.
            pattern=self.pattern + r"(?!\n)",
            max_length=self.max_length,
            description=f"{description} ({self.rule})",
            schema_extra={"pattern": self.pattern},
        )


ASSET = IdKind(UUID_PATTERN, 36, "a UUID", "no asset {value!r}")
VERSION = IdKind(
    VERSION_PATTERN, 128, "a semantic version", "no version {value!r} of asset {content_id}"
)
WORKSPACE = IdKind(NAME_PATTERN, 64, NAME_RULE, "no workspace {value!r}")
WORKFLOW = IdKind(UUID_PATTERN, 36, "a UUID", "no workflow {value!r}")
EXECUTION = IdKind(UUID_PATTERN, 36, "a UUID", "no execution {value!r}")
EXPERIMENT = IdKind(UUID_PATTERN, 36, "a UUID", "no experiment {value!r}")
SERVICE = IdKind(UUID_PATTERN, 36, "a UUID", "no service {value!r}")
SHA256_PATTERN = r"^[0-9a-f]{64}$"
PACKAGE = IdKind(SHA256_PATTERN, 64, "a sha256: 64 lowercase hex digits", "no package {value!r}")
STEP = IdKind(NAME_PATTERN, 64, NAME_RULE, "no step {value!r} in execution {execution_id}")
USER = IdKind(NAME_PATTERN, 64, NAME_RULE, "no user named {value!r}")
GROUP = IdKind(NAME_PATTERN, 64, NAME_RULE, "no group named {value!r}")


@dataclass(frozen=True)
class RowIdKind:
    """A numeric id: a row's primary key, 1 to ``MAX_ROW_ID``."""

    missing: str

    def well_formed(self, value: object) -> bool:
        return isinstance(value, int) and 1 <= value <= MAX_ROW_ID

    def not_found(self, value: object, **path: object) -> NotFound:
        return NotFound(self.missing.format(value=value, **path))

    def parameter(self, description: str) -> PathParameter:
        return PathParameter(ge=1, le=MAX_ROW_ID, description=description)


TOKEN = RowIdKind("no token with id {value}")

ContentId = Annotated[str, ASSET.parameter("The asset's content id"), ASSET]
Version = Annotated[str, VERSION.parameter("The version, e.g. 1.2.0"), VERSION]
WorkspaceName = Annotated[str, WORKSPACE.parameter("The workspace's name"), WORKSPACE]
WorkflowId = Annotated[str, WORKFLOW.parameter("The runtime workflow's id"), WORKFLOW]
ExecutionId = Annotated[str, EXECUTION.parameter("The execution's id"), EXECUTION]
ExperimentId = Annotated[str, EXPERIMENT.parameter("The experiment's id"), EXPERIMENT]
PackageSha = Annotated[str, PACKAGE.parameter("The package's sha256"), PACKAGE]
ServiceId = Annotated[str, SERVICE.parameter("The service's id"), SERVICE]
StepName = Annotated[str, STEP.parameter("The step's name"), STEP]
Username = Annotated[str, USER.parameter("The user's name"), USER]
GroupName = Annotated[str, GROUP.parameter("The group's name"), GROUP]
TokenId = Annotated[int, TOKEN.parameter("The personal access token's id"), TOKEN]
OutputPath = Annotated[
    str | None,
    PathParameter(
        description="OUTPUT or OUTPUT/PATH inside it; read from the raw request path and checked "
        "by registry.executions.outputs.requested (422 naming the rule: no NUL, '..', '.', "
        "empty or absolute segments, bounded lengths)"
    ),
]
"""The one path parameter that is not an id: a path inside a step's outputs."""


def _kind(request: Request[Any, Any, Any], name: str) -> IdKind | RowIdKind | None:
    parameter = request.route_handler.parsed_fn_signature.parameters.get(name)
    for item in parameter.metadata if parameter is not None else ():
        if isinstance(item, IdKind | RowIdKind):
            return item
    return None


def ill_formed(request: Request[Any, Any, Any]) -> NotFound | None:
    """The 404 for the first path parameter that breaks its kind's rule, if one does.

    The path is checked here against the kinds themselves: Litestar's error list says "path"
    for any field named like a path parameter, a body's ``version`` included.
    """
    path = request.path_params
    for name, value in path.items():
        kind = _kind(request, name)
        if kind is not None and not kind.well_formed(value):
            others = {k: v for k, v in path.items() if k != name}
            return kind.not_found(value, **others)
    return None


def ill_formed_path(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """A path parameter that breaks its kind's rule is a 404, the answer for an absent one
    (``ill_formed``); any other invalid value is the usual 422 of
    ``registry.problems.validation_error``."""
    missing = ill_formed(request)
    if missing is not None:
        return gallery_error(request, missing)
    return validation_error(request, exc)


EXCEPTION_HANDLERS: Any = {ValidationException: ill_formed_path}
"""For each area's router: ill-formed ids in the path answered by ``ill_formed_path``."""
