"""``compile()`` output is pinned by golden files, round-trips, and is re-validated by the IR."""

from __future__ import annotations

import copy
import json
import os
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import sdk as wf
from sdk import spec as ir
from tests.sdk import showcase

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLE = REPO / "sdk" / "examples" / "digits" / "workflow.py"
UPDATE = os.environ.get("GALLERY_UPDATE_GOLDEN") == "1"


def digits() -> wf.Workflow:
    """A fresh copy of the example's ``workflow`` (run the file, as ``gallery publish`` does)."""
    workflow = runpy.run_path(str(EXAMPLE))["workflow"]
    assert isinstance(workflow, wf.Workflow)
    return workflow


WORKFLOWS: dict[str, Callable[[], wf.Workflow]] = {"digits": digits, "showcase": showcase.build}


def machine_independent(spec: ir.WorkflowSpec) -> Any:
    text = json.dumps(spec.model_dump(mode="json"), indent=2, sort_keys=False)
    return json.loads(text.replace(str(REPO), "<repo>"))


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_compile_matches_golden(name: str) -> None:
    compiled = machine_independent(WORKFLOWS[name]().compile())
    golden = GOLDEN / f"{name}.json"
    if UPDATE:
        golden.write_text(json.dumps(compiled, indent=2) + "\n")
    assert compiled == json.loads(golden.read_text())


def test_golden_files_hold_no_machine_paths() -> None:
    for golden in GOLDEN.glob("*.json"):
        assert str(REPO) not in golden.read_text(), golden.name


def test_digits_code_dir_is_the_example_algorithms_folder() -> None:
    spec = digits().compile()
    for step in ("prepare", "train", "export", "report"):
        algorithm = spec.step(step).typed_properties().algorithm
        assert algorithm.source == "local"
        assert algorithm.code_dir == str(REPO / "sdk" / "examples" / "digits" / "algorithms")


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_spec_round_trips_through_json(name: str) -> None:
    spec = WORKFLOWS[name]().compile()
    dumped = spec.model_dump(mode="json")
    again = ir.WorkflowSpec.model_validate(json.loads(json.dumps(dumped)))
    assert again == spec
    assert again.model_dump(mode="json") == dumped
    assert again.model_dump_json() == spec.model_dump_json()


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_compile_is_deterministic(name: str) -> None:
    build = WORKFLOWS[name]
    workflow = build()
    first, second = workflow.compile(), workflow.compile()
    assert first.model_dump_json() == second.model_dump_json()
    assert build().compile().model_dump_json() == first.model_dump_json()


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_compiled_spec_passes_the_ir_validation(name: str) -> None:
    ir.validate(WORKFLOWS[name]().compile())


def test_topological_order_of_digits() -> None:
    spec = digits().compile()
    assert ir.topological_order(spec) == ["prepare", "train", "good_enough", "export", "report"]


def test_topological_order_follows_edges_not_declaration() -> None:
    spec = showcase.build().compile()
    assert [s.name for s in spec.steps] == ["serve", "register", "job_b", "job_a"]
    order = ir.topological_order(spec)
    assert order == ["job_b", "job_a", "register", "serve"]
    position = {name: i for i, name in enumerate(order)}
    for step, waits_for in ir.edges(spec).items():
        assert all(position[dep] < position[step] for dep in waits_for), step


def test_reading_an_output_is_an_edge_even_without_depend_steps(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("")
    algorithm = wf.BaseAlgorithm(code_dir=tmp_path, boot_file="m.py")
    a = wf.steps.JobStep("a", algorithm=algorithm, outputs=wf.steps.JobOutput("o"))
    b = wf.steps.JobStep(
        "b", algorithm=algorithm, inputs=wf.steps.JobInput("i", a.outputs["o"].as_input())
    )
    spec = wf.Workflow(name="w", steps=[b, a]).compile()
    assert spec.step("b").depends_on == []
    assert ir.edges(spec)["b"] == {"a"}
    assert ir.topological_order(spec) == ["a", "b"]


# --- storage paths --------------------------------------------------------------------------


def path_of(join: wf.data.StorageJoin) -> tuple[str, bool | None, bool | None]:
    return join.path, join.with_execution_id, join.create_dir


def test_storage_join_chains_and_normalises_slashes() -> None:
    root = wf.data.InputStorage("root")
    assert path_of(root.join("directory_path")) == ("directory_path", None, None)
    assert path_of(root.join("/dataset1/new.manifest")) == ("dataset1/new.manifest", None, None)
    assert path_of(root.join("a").join("b")) == ("a/b", None, None)
    assert path_of(root.join("a/").join("/b/")) == ("a/b/", None, None)
    assert root.join("a").join("b").storage is root


def test_storage_join_flags_override_and_are_inherited_along_a_chain() -> None:
    out = wf.data.OutputStorage("out")
    assert (out.create_dir, out.with_execution_id) == (True, True)
    no_id = out.join("model/", with_execution_id=False)
    assert path_of(no_id) == ("model/", False, None)
    assert path_of(no_id.join("best/")) == ("model/best/", False, None)
    assert path_of(no_id.join("best/", with_execution_id=True)) == ("model/best/", True, None)
    file = out.join("logs/", create_dir=True).join("run.log", create_dir=False)
    assert path_of(file) == ("logs/run.log", None, False)
    plain = wf.data.Storage("plain")
    assert (plain.create_dir, plain.with_execution_id) == (False, False)
    made = wf.data.Storage("made", create_dir=True, with_execution_id=True)
    assert (made.create_dir, made.with_execution_id) == (True, True)


# --- hand-made specs: the IR's own checks ---------------------------------------------------

LITERAL = {"ref": "literal", "value": 0.9}


def gallery_job(content_id: str, **extra: Any) -> dict[str, Any]:
    algorithm = {"source": "gallery", "content_id": content_id, "version": "1.0.0"}
    return {"type": "job", "properties": {"algorithm": algorithm}, **extra}


def base_spec() -> dict[str, Any]:
    """A valid spec: job a → condition check → job b, with a placeholder, storage and scene."""
    job_a = gallery_job(
        "c1",
        name="a",
        outputs=[
            {"name": "model", "path": {"ref": "storage", "storage": "out", "path": "a/"}},
            {"name": "metrics", "kind": "metrics"},
        ],
    )
    job_a["properties"]["algorithm"]["parameters"] = [
        {"name": "lr", "value": {"ref": "placeholder", "name": "lr"}}
    ]
    check = {
        "name": "check",
        "type": "condition",
        "depends_on": ["a"],
        "properties": {
            "conditions": [
                {
                    "op": ">=",
                    "left": {"ref": "metric", "step": "a", "output": "metrics", "key": "acc"},
                    "right": LITERAL,
                }
            ],
            "if_then_steps": ["b"],
        },
    }
    job_b = gallery_job(
        "c2",
        name="b",
        depends_on=["check"],
        inputs=[{"name": "model", "data": {"ref": "output", "step": "a", "output": "model"}}],
    )
    return {
        "name": "hand",
        "placeholders": [
            {"name": "lr", "type": "float", "default": 0.1},
            {"name": "flag", "type": "bool", "default": True},
        ],
        "storages": [{"name": "out", "kind": "output", "create_dir": True}],
        "steps": [job_a, check, job_b],
        "scenes": [{"name": "first", "steps": ["a"]}],
    }


def test_the_base_spec_is_valid() -> None:
    spec = ir.WorkflowSpec.model_validate(base_spec())
    ir.validate(spec)
    assert ir.topological_order(spec) == ["a", "check", "b"]
    assert ir.gallery_algorithms(spec) == [("a", "c1", "1.0.0"), ("b", "c2", "1.0.0")]


Mutation = Callable[[dict[str, Any]], None]


def step(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in spec["steps"] if s["name"] == name)


def add_placeholder(**fields: Any) -> Mutation:
    return lambda s: s["placeholders"].append(fields)


def param_value(s: dict[str, Any]) -> dict[str, Any]:
    return dict(step(s, "a")["properties"]["algorithm"]["parameters"][0]["value"])


def set_param(value: dict[str, Any]) -> Mutation:
    def change(s: dict[str, Any]) -> None:
        step(s, "a")["properties"]["algorithm"]["parameters"][0]["value"] = value

    return change


def set_input(data: dict[str, Any]) -> Mutation:
    def change(s: dict[str, Any]) -> None:
        step(s, "b")["inputs"][0]["data"] = data

    return change


def set_props(name: str, **fields: Any) -> Mutation:
    return lambda s: step(s, name)["properties"].update(fields)


def set_step(name: str, **fields: Any) -> Mutation:
    return lambda s: step(s, name).update(fields)


VARIABLE = {"ref": "variable", "step": "ghost", "output": "service", "name": "access_address"}


SEMANTIC_ERRORS: dict[str, tuple[Mutation, str, str]] = {
    "duplicate placeholder": (
        add_placeholder(name="lr", type="int"),
        "placeholders.lr",
        "duplicate placeholder name 'lr'",
    ),
    "duplicate storage": (
        lambda s: s["storages"].append({"name": "out"}),
        "storages.out",
        "duplicate storage name 'out'",
    ),
    "duplicate step": (
        lambda s: s["steps"].append(gallery_job("c3", name="a")),
        "steps.a",
        "duplicate step name 'a'",
    ),
    "duplicate scene": (
        lambda s: s["scenes"].append({"name": "first", "steps": ["b"]}),
        "scenes.first",
        "duplicate scene name 'first'",
    ),
    "duplicate input": (
        lambda s: step(s, "b")["inputs"].append(step(s, "b")["inputs"][0]),
        "steps.b.inputs.model",
        "duplicate",
    ),
    "enum without enum_list": (
        add_placeholder(name="m", type="enum"),
        "placeholders.m",
        "non-empty enum_list",
    ),
    "enum_list on an int": (
        add_placeholder(name="n", type="int", enum_list=[1]),
        "placeholders.n",
        "only for enum",
    ),
    "list without format": (
        add_placeholder(name="l", type="list", default=[]),
        "placeholders.l",
        "placeholder_format",
    ),
    "delayed and optional": (
        add_placeholder(name="d", type="str", delay=True, required=False),
        "placeholders.d",
        "cannot be optional",
    ),
    "default of the wrong type": (
        add_placeholder(name="x", type="int", default="3"),
        "placeholders.x",
        "default '3' is not of type int",
    ),
    "bool default for an int": (
        add_placeholder(name="x", type="int", default=True),
        "placeholders.x",
        "is a bool",
    ),
    "enum default outside the list": (
        add_placeholder(name="e", type="enum", enum_list=["a"], default="b"),
        "placeholders.e",
        "'b' is not one of ['a']",
    ),
    "list element of the wrong type": (
        add_placeholder(name="l", type="list", format="int", default=[1, "2"]),
        "placeholders.l",
        "element 1",
    ),
    "unknown dependency": (
        set_step("b", depends_on=["check", "ghost"]),
        "steps.b",
        "depends on unknown step 'ghost'",
    ),
    "self dependency": (
        set_step("b", depends_on=["check", "b"]),
        "steps.b",
        "depends on itself",
    ),
    "unknown placeholder": (
        set_param({"ref": "placeholder", "name": "nope"}),
        "steps.a.parameters.lr",
        "unknown placeholder 'nope'",
    ),
    "undeclared storage": (
        set_param({"ref": "storage", "storage": "elsewhere", "path": "x/"}),
        "steps.a.parameters.lr",
        "storage 'elsewhere' is not declared",
    ),
    "output of an unknown step": (
        set_input({"ref": "output", "step": "ghost", "output": "model"}),
        "steps.b.inputs.model",
        "unknown step 'ghost'",
    ),
    "undeclared output": (
        set_input({"ref": "output", "step": "a", "output": "nope"}),
        "steps.b.inputs.model",
        "step 'a' declares no output named 'nope'",
    ),
    "selector candidate of an unknown step": (
        set_input(
            {
                "ref": "selector",
                "candidates": [
                    {"ref": "output", "step": "a", "output": "model"},
                    {"ref": "output", "step": "ghost", "output": "model"},
                ],
            }
        ),
        "steps.b.inputs.model",
        "unknown step 'ghost'",
    ),
    "reads its own output": (
        lambda s: step(s, "a").update(
            inputs=[{"name": "own", "data": {"ref": "output", "step": "a", "output": "model"}}]
        ),
        "steps.a.inputs.own",
        "reads its own output",
    ),
    "metric of an undeclared output": (
        set_props(
            "check",
            conditions=[
                {
                    "op": "or",
                    "left": {"op": "==", "left": LITERAL, "right": LITERAL},
                    "right": {
                        "op": "<",
                        "left": {"ref": "metric", "step": "a", "output": "nope", "key": "acc"},
                        "right": LITERAL,
                    },
                }
            ],
        ),
        "steps.check.conditions[0]",
        "declares no output named 'nope'",
    ),
    "metric of an output that is not a metrics output": (
        set_props(
            "check",
            conditions=[
                {
                    "op": ">=",
                    "left": {"ref": "metric", "step": "a", "output": "model", "key": "acc"},
                    "right": LITERAL,
                }
            ],
        ),
        "steps.check.conditions[0]",
        "output 'model' of step 'a', which is not a metrics output",
    ),
    "skip condition on an unknown placeholder": (
        set_step(
            "b",
            policy={
                "skip_conditions": [
                    {"op": "==", "left": {"ref": "placeholder", "name": "nope"}, "right": LITERAL}
                ]
            },
        ),
        "steps.b.policy.skip_conditions[0]",
        "unknown placeholder 'nope'",
    ),
    "flavor from an unknown placeholder": (
        set_props("a", resource={"flavor": {"ref": "placeholder", "name": "nope"}}),
        "steps.a.resource.flavor",
        "unknown placeholder 'nope'",
    ),
    "output path in an undeclared storage": (
        lambda s: step(s, "a")["outputs"][0].update(
            path={"ref": "storage", "storage": "elsewhere"}
        ),
        "steps.a.outputs.model",
        "storage 'elsewhere' is not declared",
    ),
    "branch naming an unknown step": (
        set_props("check", if_then_steps=["b", "ghost"]),
        "steps.check.if_then_steps",
        "unknown step 'ghost'",
    ),
    "branch step not depending on the condition": (
        set_props("check", else_then_steps=["a"]),
        "steps.check.else_then_steps",
        "step 'a' must depend on condition step 'check'",
    ),
    "step in both branches": (
        set_props("check", else_then_steps=["b"]),
        "steps.check",
        "step 'b' is in both branches",
    ),
    "dependency cycle": (
        set_step("a", depends_on=["b"]),
        "steps",
        "dependency cycle: ",
    ),
    "scene naming an unknown step": (
        lambda s: s["scenes"].append({"name": "second", "steps": ["a", "ghost"]}),
        "scenes.second",
        "unknown step 'ghost'",
    ),
    "a log output on a step that is no job": (
        set_step("check", outputs=[{"name": "log_export_path", "kind": "log"}]),
        "steps.check.outputs",
        "only a job step has a log output",
    ),
    "a log output under another name": (
        lambda s: step(s, "b").update(outputs=[{"name": "logs", "kind": "log"}]),
        "steps.b.outputs",
        "one named 'log_export_path'",
    ),
    "a variable of a step that does not exist": (
        lambda s: step(s, "b").update(outputs=[{"name": "o", "config": {"envs": VARIABLE}}]),
        "steps.b.outputs.o.config.envs",
        "unknown step 'ghost'",
    ),
    "a variable of a job output": (
        lambda s: step(s, "b").update(
            outputs=[{"name": "o", "config": {"envs": dict(VARIABLE, step="a", output="model")}}]
        ),
        "steps.b.outputs.o.config.envs",
        "only a service output has variables",
    ),
    "a variable that does not exist": (
        lambda s: step(s, "b").update(
            outputs=[{"name": "o", "config": {"envs": dict(VARIABLE, name="password")}}]
        ),
        "steps.b.outputs.o.config.envs",
        "not an output variable",
    ),
    "a constraint naming an unknown placeholder": (
        add_placeholder(
            name="deploy",
            type="json",
            constraint={"model_name": {"ref": "placeholder", "name": "ghost"}},
        ),
        "placeholders.deploy.constraint.model_name",
        "unknown placeholder 'ghost'",
    ),
}


@pytest.mark.parametrize("case", sorted(SEMANTIC_ERRORS))
def test_validate_refuses_a_semantic_error_naming_the_place(case: str) -> None:
    mutate, where, message = SEMANTIC_ERRORS[case]
    raw = base_spec()
    mutate(raw)
    spec = ir.WorkflowSpec.model_validate(raw)
    with pytest.raises(ir.SpecError) as caught:
        ir.validate(spec)
    matching = [p for p in caught.value.problems if p[0] == where and message in p[1]]
    assert matching, caught.value.problems
    assert f"{where}: " in str(caught.value)


def test_dependency_cycle_names_the_steps_in_order() -> None:
    raw = base_spec()
    step(raw, "a")["depends_on"] = ["b"]
    with pytest.raises(ir.SpecError) as caught:
        ir.validate(ir.WorkflowSpec.model_validate(raw))
    [(_, message)] = [p for p in caught.value.problems if p[0] == "steps"]
    # a waits for b (depends_on) and b reads a's output: the shortest loop is named.
    assert message == "dependency cycle: a -> b -> a"
    with pytest.raises(ir.SpecError):
        ir.topological_order(ir.WorkflowSpec.model_validate(raw))


def test_validate_reports_every_problem_at_once() -> None:
    raw = base_spec()
    for case in ("unknown placeholder", "scene naming an unknown step", "duplicate storage"):
        SEMANTIC_ERRORS[case][0](raw)
    with pytest.raises(ir.SpecError) as caught:
        ir.validate(ir.WorkflowSpec.model_validate(raw))
    places = {where for where, _ in caught.value.problems}
    assert {"steps.a.parameters.lr", "scenes.second", "storages.out"} <= places


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda s: step(s, "a").update(name="1a"), ("steps", 0, "name")),
        (lambda s: s.update(steps=[]), ("steps",)),
        (lambda s: s.update(surprise=True), ("surprise",)),
        (lambda s: step(s, "a").update(type="shell"), ("steps", 0, "type")),
        (lambda s: s["placeholders"][0].update(type="decimal"), ("placeholders", 0, "type")),
        (lambda s: set_props("a", algorithm={"source": "local"})(s), ("steps", 0)),
        (lambda s: set_props("check", conditions=[])(s), ("steps", 1)),
        (
            lambda s: step(s, "b")["inputs"][0].update(data={"ref": "magic"}),
            ("steps", 2, "inputs", 0, "data"),
        ),
    ],
)
def test_shape_errors_are_refused_by_the_model(
    change: Mutation, location: tuple[str | int, ...]
) -> None:
    raw = copy.deepcopy(base_spec())
    change(raw)
    with pytest.raises(ValidationError) as caught:
        ir.WorkflowSpec.model_validate(raw)
    assert any(tuple(e["loc"][: len(location)]) == location for e in caught.value.errors()), (
        caught.value.errors()
    )


def test_sdk_compile_reports_ir_problems_as_definition_errors(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("")
    job = wf.steps.JobStep(
        "job",
        algorithm=wf.BaseAlgorithm(code_dir=tmp_path, boot_file="m.py"),
        outputs=wf.steps.JobOutput("o"),
    )
    check = wf.steps.ConditionStep(
        "check", wf.steps.Condition(wf.steps.ConditionTypeEnum.EQ, 1, 1), if_then_steps="ghost"
    )
    with pytest.raises(wf.WorkflowDefinitionError) as caught:
        wf.Workflow(name="w", steps=[job, check]).compile()
    assert str(caught.value).startswith("workflow 'w': steps.check.if_then_steps: unknown step")


def test_an_output_variable_in_settings_is_an_edge() -> None:
    raw = base_spec()
    raw["steps"].append(
        {
            "name": "serve",
            "type": "service",
            "outputs": [{"name": "service", "kind": "service"}],
        }
    )
    raw["steps"].append(
        {
            "name": "front",
            "type": "service",
            "outputs": [
                {
                    "name": "service",
                    "kind": "service",
                    "config": {"envs": {"UP": dict(VARIABLE, step="serve")}},
                }
            ],
        }
    )
    spec = ir.WorkflowSpec.model_validate(raw)
    ir.validate(spec)
    assert ir.edges(spec)["front"] == {"serve"}
    assert ir.topological_order(spec).index("serve") < ir.topological_order(spec).index("front")


@pytest.mark.parametrize(
    ("value", "flavor"),
    [
        ("cpu.small", "cpu.small"),
        ({"flavor_id": "gpu.large"}, "gpu.large"),
        ({"pool_id": "pool-1", "flavor_id": "gpu.large"}, "gpu.large"),
        ({"flavor_id": ""}, None),
        ("", None),
        (None, None),
        ({"pool_id": "pool-1"}, None),
        (42, None),
    ],
)
def test_flavor_name_of_each_form(value: Any, flavor: str | None) -> None:
    """A string flavor is the id; the manual's JSON form gives its flavor_id."""
    assert ir.flavor_name(value) == flavor


def test_flavor_placeholders_take_both_forms_and_nothing_else() -> None:
    as_json = ir.PlaceholderSpec(name="f", type="json", format="train_flavor")
    as_text = ir.PlaceholderSpec(name="f", type="str", format="flavor")
    assert ir.value_matches(as_json, {"flavor_id": "gpu", "pool_id": "p"}) is None
    assert ir.value_matches(as_text, "gpu") is None
    assert "not a flavor" in (ir.value_matches(as_json, {"flavour": "gpu"}) or "")
    assert "not a flavor" in (ir.value_matches(as_json, {"flavor_id": 3}) or "")
    assert "empty flavor" in (ir.value_matches(as_text, "") or "")


@pytest.mark.parametrize("name", ["模型训练", "服务部署", "Train again", "déploiement-2", "a"])
def test_scene_names_in_any_script(name: str) -> None:
    raw = base_spec()
    raw["scenes"] = [{"name": name, "steps": ["a"]}]
    spec = ir.WorkflowSpec.model_validate(raw, strict=True)
    ir.validate(spec)
    assert ir.plan_scene(spec, name, available=[]).steps == ["a"]


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "1st", "_x", "a/b", "a?b", "a#b", "a\nb", "引号'", "x" * 65]
)
def test_scene_names_that_are_refused(name: str) -> None:
    raw = base_spec()
    raw["scenes"] = [{"name": name, "steps": ["a"]}]
    with pytest.raises(ValidationError) as caught:
        ir.WorkflowSpec.model_validate(raw)
    assert "not a scene name" in str(caught.value)
    assert ir.scene_name_problem(name) is not None
