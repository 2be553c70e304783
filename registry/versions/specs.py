"""Re-validation of what a publisher sends as ``manifest.spec``, and its interface.

The same checks as the SDK's ``compile()`` (``sdk.spec``), so a hand-made manifest cannot get
past them; errors name the place in the manifest (``manifest.spec.steps[1].name``). JSON types
are taken as they are (strict): ``"yes"`` or ``1`` is not a bool.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from registry.assets.schemas import Manifest
from registry.errors import FieldError, InvalidInput, problem_list, pydantic_errors
from sdk import spec as ir
from sdk.interface import algorithm_interface, workflow_interface


def check_spec(kind: str, manifest: Manifest) -> dict[str, Any] | None:
    """Validate the spec for workflows (required) and algorithms; returns its interface."""
    if kind == "workflow":
        if manifest.spec is None:
            raise InvalidInput.field(
                "manifest.spec", "required", "a workflow version needs its spec (the IR)"
            )
        try:
            spec = ir.WorkflowSpec.model_validate(manifest.spec, strict=True)
        except ValidationError as exc:
            raise InvalidInput.of("spec", pydantic_errors(exc, "manifest.spec")) from None
        try:
            ir.validate(spec)
        except ir.SpecError as exc:
            raise InvalidInput.of(
                "spec", problem_list(exc.problems, "manifest.spec", "spec")
            ) from None
        _check_dependencies(spec, manifest)
        return workflow_interface(spec)
    if kind == "algorithm" and manifest.spec is not None:
        try:
            algorithm = ir.AlgorithmAssetSpec.model_validate(manifest.spec, strict=True)
        except ValidationError as exc:
            raise InvalidInput.of("spec", pydantic_errors(exc, "manifest.spec")) from None
        return algorithm_interface(algorithm)
    return None


def _check_dependencies(spec: ir.WorkflowSpec, manifest: Manifest) -> None:
    """Every algorithm the workflow runs and every model it reads is an exact version listed
    in the dependencies."""
    listed = {(d.content_id, d.version) for d in manifest.dependencies}
    errors = []
    pins = [("runs algorithm", pin) for pin in ir.gallery_algorithms(spec)]
    pins += [("reads model", pin) for pin in ir.gallery_models(spec)]
    for what, (step, content_id, version) in pins:
        if (content_id, version) not in listed:
            errors.append(
                FieldError(
                    f"manifest.spec.steps.{step}",
                    "dependency_listed",
                    f"{what} {content_id}@{version}, which is not an exact version in "
                    "manifest.dependencies",
                )
            )
    local = [s.name for s in spec.steps if s.type == "job" and _is_local(s)]
    for step in local:
        errors.append(
            FieldError(
                f"manifest.spec.steps.{step}",
                "published_algorithm",
                "runs local code; publish it as an algorithm asset first (the SDK does this)",
            )
        )
    if errors:
        raise InvalidInput.of("spec", errors)


def _is_local(step: ir.StepSpec) -> bool:
    """Local code, or a workspace package (a development run's code, which only its own
    workspace can run): neither is a published algorithm anyone could fetch."""
    props = step.typed_properties()
    return isinstance(props, ir.JobProperties) and props.algorithm.source in ("local", "workspace")
