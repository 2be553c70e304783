"""Definition errors surface at construction or ``compile()`` and name the culprit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sdk as wf

ERROR = wf.WorkflowDefinitionError


def code_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / "main.py").write_text("print('hi')\n")
    return folder


def job(
    name: str,
    tmp_path: Path,
    *,
    inputs: Any = None,
    outputs: Any = None,
    parameters: list[wf.AlgorithmParameters] | None = None,
    depend_steps: Any = None,
    policy: wf.steps.StepPolicy | None = None,
) -> wf.steps.JobStep:
    return wf.steps.JobStep(
        name=name,
        algorithm=wf.BaseAlgorithm(
            code_dir=code_dir(tmp_path), boot_file="main.py", parameters=parameters
        ),
        inputs=inputs,
        outputs=outputs if outputs is not None else [wf.steps.JobOutput("out")],
        depend_steps=depend_steps,
        policy=policy,
    )


def raises_naming(culprit: str, action: Callable[[], object]) -> str:
    with pytest.raises(ERROR) as caught:
        action()
    message = str(caught.value)
    assert culprit in message, message
    return message


# --- names ----------------------------------------------------------------------------------

BAD_NAMES = ["1bad", "has space", "a" * 65, "", "dot.ted", "_lead"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_ill_formed_step_name(bad: str, tmp_path: Path) -> None:
    message = raises_naming(repr(bad), lambda: job(bad, tmp_path))
    assert "step name" in message and "starting with a letter" in message


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_ill_formed_placeholder_name(bad: str) -> None:
    message = raises_naming(repr(bad), lambda: wf.Placeholder(bad, wf.PlaceholderType.INT))
    assert "placeholder name" in message


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_ill_formed_storage_name(bad: str) -> None:
    raises_naming(repr(bad), lambda: wf.data.Storage(bad))
    raises_naming(repr(bad), lambda: wf.data.InputStorage(bad))
    raises_naming(repr(bad), lambda: wf.data.OutputStorage(bad))


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_ill_formed_input_and_output_names(bad: str) -> None:
    message = raises_naming(repr(bad), lambda: wf.steps.JobInput(bad, wf.data.OBSPath("/b/x")))
    assert "input name" in message
    message = raises_naming(repr(bad), lambda: wf.steps.JobOutput(bad))
    assert "output name" in message


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_ill_formed_workflow_name(bad: str, tmp_path: Path) -> None:
    step = job("ok", tmp_path)
    message = raises_naming(repr(bad), lambda: wf.Workflow(name=bad, desc="", steps=[step]))
    assert "workflow name" in message


def test_the_longest_name_is_fine(tmp_path: Path) -> None:
    name = "a" * 64
    step = job(name, tmp_path)
    assert wf.Workflow(name=name, steps=[step]).compile().steps[0].name == name


# --- steps and dependencies -----------------------------------------------------------------


def test_duplicate_step_names(tmp_path: Path) -> None:
    first, second = job("train", tmp_path), job("train", tmp_path)
    workflow = wf.Workflow(name="w", steps=[first, second])
    message = raises_naming("'train'", workflow.compile)
    assert "duplicate step name" in message


def test_unknown_dependency(tmp_path: Path) -> None:
    upstream = job("upstream", tmp_path)
    downstream = job("downstream", tmp_path, depend_steps=upstream)
    workflow = wf.Workflow(name="w", steps=[downstream])
    message = raises_naming("'upstream'", workflow.compile)
    assert "'downstream'" in message and "not in Workflow(steps=...)" in message


def test_unknown_producer_of_an_input(tmp_path: Path) -> None:
    upstream = job("upstream", tmp_path)
    downstream = job(
        "downstream",
        tmp_path,
        inputs=wf.steps.JobInput("data", upstream.outputs["out"].as_input()),
    )
    workflow = wf.Workflow(name="w", steps=[downstream])
    raises_naming("'upstream'", workflow.compile)


def test_cycle_through_depend_steps(tmp_path: Path) -> None:
    a = job("a", tmp_path)
    b = job("b", tmp_path, depend_steps=a)
    a.depend_steps.append(b)
    message = raises_naming("dependency cycle", wf.Workflow(name="w", steps=[a, b]).compile)
    assert "a -> b -> a" in message or "b -> a -> b" in message


def test_cycle_through_as_input(tmp_path: Path) -> None:
    a = job("a", tmp_path)
    b = job("b", tmp_path, inputs=wf.steps.JobInput("data", a.outputs["out"].as_input()))
    a.input_list.append(wf.steps.JobInput("back", b.outputs["out"].as_input()))
    message = raises_naming("dependency cycle", wf.Workflow(name="w", steps=[a, b]).compile)
    assert "a -> b -> a" in message or "b -> a -> b" in message


def test_step_depending_on_itself(tmp_path: Path) -> None:
    a = job("loner", tmp_path)
    a.depend_steps.append(a)
    message = raises_naming("loner", wf.Workflow(name="w", steps=[a]).compile)
    assert "itself" in message


def test_undeclared_output_lookup_names_step_and_lists_outputs(tmp_path: Path) -> None:
    step = job(
        "train", tmp_path, outputs=[wf.steps.JobOutput("model"), wf.steps.JobOutput("metrics")]
    )
    message = raises_naming("'train'", lambda: step.outputs["nope"])
    assert "'nope'" in message and "model, metrics" in message
    assert list(step.outputs) == ["model", "metrics"]
    assert len(step.outputs) == 2


def test_duplicate_input_names_in_one_step(tmp_path: Path) -> None:
    step = job(
        "reader",
        tmp_path,
        inputs=[
            wf.steps.JobInput("data", wf.data.OBSPath("/b/one")),
            wf.steps.JobInput("data", wf.data.OBSPath("/b/two")),
        ],
    )
    message = raises_naming("'data'", wf.Workflow(name="w", steps=[step]).compile)
    assert "reader" in message and "duplicate" in message


def test_duplicate_output_names_in_one_step(tmp_path: Path) -> None:
    step = job("writer", tmp_path, outputs=[wf.steps.JobOutput("o"), wf.steps.JobOutput("o")])
    message = raises_naming("'o'", wf.Workflow(name="w", steps=[step]).compile)
    assert "writer" in message


# --- placeholders ---------------------------------------------------------------------------

T = wf.PlaceholderType


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        (T.INT, "3"),
        (T.INT, 3.5),
        (T.INT, True),
        (T.BOOL, 1),
        (T.BOOL, "true"),
        (T.FLOAT, "x"),
        (T.FLOAT, False),
        (T.STR, 3),
        (T.JSON, "{}"),
    ],
)
def test_placeholder_default_must_match_its_type(kind: wf.PlaceholderType, default: Any) -> None:
    message = raises_naming("'p'", lambda: wf.Placeholder("p", kind, default=default))
    assert "default" in message and repr(default) in message


@pytest.mark.parametrize(
    ("kind", "default"),
    [(T.FLOAT, 1), (T.FLOAT, 0.5), (T.INT, 3), (T.BOOL, False), (T.STR, ""), (T.JSON, {"a": 1})],
)
def test_placeholder_defaults_that_fit(kind: wf.PlaceholderType, default: Any) -> None:
    assert wf.Placeholder("p", kind, default=default).default == default


def test_enum_default_outside_enum_list() -> None:
    message = raises_naming(
        "'model'",
        lambda: wf.Placeholder("model", T.ENUM, default="tree", enum_list=["svm", "logreg"]),
    )
    assert "'tree'" in message


def test_enum_without_enum_list() -> None:
    message = raises_naming("'model'", lambda: wf.Placeholder("model", T.ENUM))
    assert "enum_list" in message
    raises_naming("'model'", lambda: wf.Placeholder("model", T.ENUM, enum_list=[]))


def test_enum_list_on_a_non_enum() -> None:
    message = raises_naming("'n'", lambda: wf.Placeholder("n", T.INT, enum_list=[1, 2]))
    assert "enum_list" in message


def test_list_without_placeholder_format() -> None:
    message = raises_naming("'sizes'", lambda: wf.Placeholder("sizes", T.LIST, default=[1]))
    assert "placeholder_format" in message
    raises_naming("'sizes'", lambda: wf.Placeholder("sizes", T.LIST, placeholder_format="obs"))


def test_list_elements_must_match_placeholder_format() -> None:
    message = raises_naming(
        "'sizes'",
        lambda: wf.Placeholder("sizes", T.LIST, default=[1, "2"], placeholder_format="int"),
    )
    assert "element 1" in message
    ok = wf.Placeholder("sizes", T.LIST, default=[1, 2], placeholder_format="int")
    assert ok.default == [1, 2]


def test_delayed_placeholder_cannot_be_optional() -> None:
    message = raises_naming(
        "'approve'", lambda: wf.Placeholder("approve", T.BOOL, delay=True, required=False)
    )
    assert "delay" in message and "required" in message


def test_unknown_placeholder_type() -> None:
    message = raises_naming("'p'", lambda: wf.Placeholder("p", "decimal"))
    assert "'decimal'" in message


def test_placeholder_reused_with_different_settings(tmp_path: Path) -> None:
    a = job("a", tmp_path, parameters=[wf.AlgorithmParameters("lr", wf.Placeholder("lr", T.FLOAT))])
    b = job(
        "b",
        tmp_path,
        parameters=[wf.AlgorithmParameters("lr", wf.Placeholder("lr", T.FLOAT, default=0.1))],
    )
    message = raises_naming("'lr'", wf.Workflow(name="w", steps=[a, b]).compile)
    assert "different settings" in message and "'a'" in message and "'b'" in message


def test_placeholder_reused_with_identical_settings_is_one_placeholder(tmp_path: Path) -> None:
    a = job("a", tmp_path, parameters=[wf.AlgorithmParameters("lr", wf.Placeholder("lr", T.FLOAT))])
    b = job("b", tmp_path, parameters=[wf.AlgorithmParameters("lr", wf.Placeholder("lr", T.FLOAT))])
    spec = wf.Workflow(name="w", steps=[a, b]).compile()
    assert [p.name for p in spec.placeholders] == ["lr"]


def test_obs_placeholder_object_type() -> None:
    message = raises_naming("'src'", lambda: wf.data.OBSPlaceholder("src", object_type="bucket"))
    assert "'bucket'" in message


# --- storages -------------------------------------------------------------------------------


def test_two_storages_with_one_name(tmp_path: Path) -> None:
    first, second = wf.data.OutputStorage("out"), wf.data.InputStorage("out")
    step = job("a", tmp_path, outputs=wf.steps.JobOutput("o", wf.data.OBSOutputConfig(first)))
    workflow = wf.Workflow(name="w", steps=[step], storages=[first, second])
    message = raises_naming("'out'", workflow.compile)
    assert "two storages" in message


def test_storage_used_but_not_listed(tmp_path: Path) -> None:
    out = wf.data.OutputStorage("results")
    step = job(
        "writer",
        tmp_path,
        outputs=wf.steps.JobOutput("o", wf.data.OBSOutputConfig(out.join("model/"))),
    )
    workflow = wf.Workflow(name="w", steps=[step])
    message = raises_naming("'results'", workflow.compile)
    assert "'writer'" in message and "storages=" in message


def test_a_different_storage_object_with_a_listed_name(tmp_path: Path) -> None:
    listed, other = wf.data.OutputStorage("results"), wf.data.OutputStorage("results")
    step = job("writer", tmp_path, outputs=wf.steps.JobOutput("o", wf.data.OBSOutputConfig(other)))
    workflow = wf.Workflow(name="w", steps=[step], storages=listed)
    raises_naming("'results'", workflow.compile)


def test_with_execution_id_needs_create_dir() -> None:
    message = raises_naming("'s'", lambda: wf.data.Storage("s", with_execution_id=True))
    assert "create_dir" in message


# --- scenes and condition steps -------------------------------------------------------------


def test_scene_naming_an_unknown_step(tmp_path: Path) -> None:
    inside, outside = job("inside", tmp_path), job("outside", tmp_path)
    workflow = wf.Workflow(
        name="w",
        steps=[inside],
        policy=wf.policy.Policy(scenes=[wf.policy.Scene("part", [inside, outside])]),
    )
    message = raises_naming("'outside'", workflow.compile)
    assert "'part'" in message


def test_scene_name_and_steps() -> None:
    raises_naming("'1scene'", lambda: wf.policy.Scene("1scene", []))
    raises_naming("'empty'", lambda: wf.policy.Scene("empty", []))


def condition_on(flag: wf.Placeholder) -> wf.steps.Condition:
    return wf.steps.Condition(wf.steps.ConditionTypeEnum.EQ, flag, True)


def test_condition_branch_naming_an_unknown_step(tmp_path: Path) -> None:
    flag = wf.Placeholder("flag", T.BOOL, default=True)
    check = wf.steps.ConditionStep("check", condition_on(flag), if_then_steps=["ghost"])
    after = job("after", tmp_path, depend_steps=check)
    message = raises_naming("'ghost'", wf.Workflow(name="w", steps=[check, after]).compile)
    assert "check" in message and "if_then_steps" in message


def test_condition_branch_step_must_depend_on_the_condition(tmp_path: Path) -> None:
    flag = wf.Placeholder("flag", T.BOOL, default=True)
    loose = job("loose", tmp_path)
    check = wf.steps.ConditionStep("check", condition_on(flag), else_then_steps=[loose])
    message = raises_naming("'loose'", wf.Workflow(name="w", steps=[check, loose]).compile)
    assert "must depend on condition step 'check'" in message


def test_condition_branch_step_in_both_branches(tmp_path: Path) -> None:
    flag = wf.Placeholder("flag", T.BOOL, default=True)
    check = wf.steps.ConditionStep(
        "check", condition_on(flag), if_then_steps=["x"], else_then_steps=["x"]
    )
    x = job("x", tmp_path, depend_steps=check)
    message = raises_naming("'x'", wf.Workflow(name="w", steps=[check, x]).compile)
    assert "both branches" in message


def test_condition_or_needs_conditions() -> None:
    with pytest.raises(ERROR, match="OR"):
        wf.steps.Condition(wf.steps.ConditionTypeEnum.OR, 1, 2)


def test_condition_step_needs_conditions() -> None:
    raises_naming("'check'", lambda: wf.steps.ConditionStep("check", []))


# --- algorithms -----------------------------------------------------------------------------


def test_base_algorithm_with_both_boot_file_and_command(tmp_path: Path) -> None:
    folder = code_dir(tmp_path)
    message = raises_naming(
        "boot_file",
        lambda: wf.BaseAlgorithm(code_dir=folder, boot_file="main.py", command="python main.py"),
    )
    assert "command" in message and str(folder) in message


def test_base_algorithm_with_neither_boot_file_nor_command(tmp_path: Path) -> None:
    raises_naming("boot_file", lambda: wf.BaseAlgorithm(code_dir=code_dir(tmp_path)))


@pytest.mark.parametrize("boot", ["../outside.py", "/etc/hostname", "missing.py"])
def test_boot_file_outside_code_dir(boot: str, tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("print('x')\n")
    step = wf.steps.JobStep(
        "runner",
        algorithm=wf.BaseAlgorithm(code_dir=code_dir(tmp_path), boot_file=boot),
        outputs=[wf.steps.JobOutput("o")],
    )
    message = raises_naming(repr(boot), wf.Workflow(name="w", steps=[step]).compile)
    assert "'runner'" in message and "inside code_dir" in message


def test_code_dir_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    step = wf.steps.JobStep(
        "runner",
        algorithm=wf.BaseAlgorithm(code_dir=missing, boot_file="main.py"),
        outputs=[wf.steps.JobOutput("o")],
    )
    message = raises_naming(str(missing), wf.Workflow(name="w", steps=[step]).compile)
    assert "'runner'" in message and "not a directory" in message


def test_duplicate_algorithm_parameters(tmp_path: Path) -> None:
    raises_naming(
        "'lr'",
        lambda: wf.BaseAlgorithm(
            code_dir=code_dir(tmp_path),
            boot_file="main.py",
            parameters=[wf.AlgorithmParameters("lr", 1), wf.AlgorithmParameters("lr", 2)],
        ),
    )


def test_algorithm_needs_a_source() -> None:
    with pytest.raises(ERROR, match="code_dir"):
        wf.BaseAlgorithm()
    with pytest.raises(ERROR, match="subscription_id"):
        wf.GalleryAlgorithm("", "1.0.0")


def test_job_step_algorithm_type_is_checked() -> None:
    raises_naming("'j'", lambda: wf.steps.JobStep("j", algorithm="train.py"))  # type: ignore[arg-type]


def test_workflow_without_steps() -> None:
    raises_naming("'empty'", lambda: wf.Workflow(name="empty", steps=[]))


# --- settings the IR bounds: refused as definition errors naming the step ---------------------


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (lambda: wf.steps.StepPolicy(max_execution_minutes=0), "max_execution_minutes"),
        (lambda: wf.steps.StepPolicy(poll_interval_seconds=-1), "poll_interval_seconds"),
        (lambda: wf.steps.StepPolicy(max_retries=500), "max_attempts"),
        (lambda: wf.steps.StepPolicy(max_retries=1, retry_backoff=0.5), "backoff_coefficient"),
    ],
)
def test_out_of_range_step_policy(
    policy: Callable[[], wf.steps.StepPolicy], field: str, tmp_path: Path
) -> None:
    step = job("slow", tmp_path, policy=policy())
    message = raises_naming("'slow'", wf.Workflow(name="w", steps=[step]).compile)
    assert field in message and "\n" not in message


def test_too_long_step_title(tmp_path: Path) -> None:
    step = wf.steps.JobStep(
        "titled",
        title="t" * 201,
        algorithm=wf.BaseAlgorithm(code_dir=code_dir(tmp_path), boot_file="main.py"),
    )
    message = raises_naming("'titled'", wf.Workflow(name="w", steps=[step]).compile)
    assert "title" in message and "200" in message and "\n" not in message


def test_too_long_workflow_description(tmp_path: Path) -> None:
    workflow = wf.Workflow(name="wordy", desc="d" * 20_001, steps=[job("a", tmp_path)])
    message = raises_naming("'wordy'", workflow.compile)
    assert "description" in message and "\n" not in message


def test_metric_info_must_read_a_metrics_output(tmp_path: Path) -> None:
    train = job("train", tmp_path, outputs=[wf.steps.JobOutput("model")])
    check = wf.steps.ConditionStep(
        "check",
        wf.steps.Condition(
            wf.steps.ConditionTypeEnum.GTE,
            wf.steps.MetricInfo(train.outputs["model"].as_input(), "accuracy"),
            0.9,
        ),
        depend_steps=train,
    )
    message = raises_naming("'model'", wf.Workflow(name="w", steps=[train, check]).compile)
    assert "'train'" in message and "metrics" in message


@pytest.mark.parametrize("where", ["code_dir", "boot_file"])
def test_local_code_location_must_be_a_path(where: str, tmp_path: Path) -> None:
    fields: dict[str, Any] = {"code_dir": code_dir(tmp_path), "boot_file": "main.py"}
    fields[where] = wf.Placeholder("location", T.STR)
    message = raises_naming(where, lambda: wf.BaseAlgorithm(**fields))
    assert "'location'" in message


def test_one_local_algorithm_name_means_one_algorithm(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for folder in (first, second):
        folder.mkdir()
        (folder / "main.py").write_text("")
        (folder / "other.py").write_text("")

    def step(name: str, folder: Path, boot_file: str = "main.py") -> wf.steps.JobStep:
        algorithm = wf.BaseAlgorithm(name="shared", code_dir=folder, boot_file=boot_file)
        return wf.steps.JobStep(name, algorithm=algorithm, outputs=wf.steps.JobOutput("o"))

    same = wf.Workflow(name="w", steps=[step("a", first), step("b", first)]).compile()
    assert [s.typed_properties().algorithm.name for s in same.steps] == ["shared", "shared"]
    for other in (step("b", second), step("b", first, "other.py")):
        workflow = wf.Workflow(name="w", steps=[step("a", first), other])
        message = raises_naming("'shared'", workflow.compile)
        assert "'a'" in message and "'b'" in message and "name=" in message


def test_a_step_name_is_the_default_algorithm_name(tmp_path: Path) -> None:
    folder = code_dir(tmp_path)
    named = wf.steps.JobStep(
        "b",
        algorithm=wf.BaseAlgorithm(name="a", code_dir=folder, command="python main.py"),
        outputs=wf.steps.JobOutput("o"),
    )
    message = raises_naming("'a'", wf.Workflow(name="w", steps=[job("a", tmp_path), named]).compile)
    assert "different local algorithms" in message


# --- the manual's settings: refused with the reason, or carried --------------------------


def test_job_spec_settings_that_cannot_be_honoured_are_refused() -> None:
    raises_naming("schedule_policy", lambda: wf.steps.JobSpec(schedule_policy={"priority": 3}))
    message = raises_naming("volumes", lambda: wf.steps.JobSpec(volumes=[{"nfs": {}}]))
    assert "JobInput" in message  # says what to write instead
    raises_naming("node_count=2", lambda: wf.steps.JobResource(node_count=2))
    not_a_log_path: Any = "/b/logs/"
    raises_naming("log_export_path", lambda: wf.steps.JobSpec(log_export_path=not_a_log_path))


def test_a_job_spec_must_be_a_job_spec(tmp_path: Path) -> None:
    raises_naming(
        "step 'j': spec must be a wf.steps.JobSpec",
        lambda: wf.steps.JobStep(
            "j",
            algorithm=wf.BaseAlgorithm(code_dir=code_dir(tmp_path), boot_file="main.py"),
            spec={"resource": "cpu"},  # type: ignore[arg-type]
        ),
    )


def test_several_files_in_one_metrics_config_are_refused() -> None:
    config = wf.data.MetricsConfig(metric_files=["/b/a/metrics.json", "/b/b/metrics.json"])
    message = raises_naming(
        "JobOutput 'metrics'", lambda: wf.steps.JobOutput("metrics", metrics_config=config)
    )
    assert "one JobOutput(metrics_config=MetricsConfig(...)) per file" in message


def test_the_log_export_output_name_is_taken(tmp_path: Path) -> None:
    out = wf.data.OutputStorage("out")
    step = wf.steps.JobStep(
        "j",
        algorithm=wf.BaseAlgorithm(code_dir=code_dir(tmp_path), boot_file="main.py"),
        outputs=wf.steps.JobOutput("log_export_path"),
        spec=wf.steps.JobSpec(log_export_path=wf.steps.LogExportPath(obs_url=out.join("logs/"))),
    )
    workflow = wf.Workflow("w", steps=[step], storages=[out])
    raises_naming("output name 'log_export_path' is taken", workflow.compile)


def test_subgraphs_and_mrs_steps_are_refused_at_construction() -> None:
    message = raises_naming("Subgraph 'part'", lambda: wf.Subgraph(name="part", steps=[]))
    assert "wf.policy.Scene" in message
    raises_naming("step 'spark'", lambda: wf.steps.MrsJobStep(name="spark", cluster_id="c"))


def test_system_env_names_a_variable_and_is_no_value(tmp_path: Path) -> None:
    assert wf.SystemEnv.EXECUTION_ID.value == "GALLERY_EXECUTION_ID"
    step = job("j", tmp_path, parameters=[wf.AlgorithmParameters("run", wf.SystemEnv.EXECUTION_ID)])
    message = raises_naming("parameter 'run'", wf.Workflow("w", steps=[step]).compile)
    assert "os.environ['GALLERY_EXECUTION_ID']" in message


def test_output_variables_belong_to_service_outputs_and_settings(tmp_path: Path) -> None:
    serve = wf.steps.ServiceStep("serve", outputs=wf.steps.ServiceOutput("service"))
    address = serve.outputs["service"].get_output_variable("access_address")
    train = job("train", tmp_path)
    raises_naming(
        "'out' is a path output", lambda: train.outputs["out"].get_output_variable("access_address")
    )
    raises_naming(
        "no variable 'password'", lambda: serve.outputs["service"].get_output_variable("password")
    )
    as_parameter = job("use", tmp_path, parameters=[wf.AlgorithmParameters("url", address)])
    message = raises_naming(
        "parameter 'url'", wf.Workflow("w", steps=[serve, as_parameter]).compile
    )
    assert "ServiceConfig(envs=" in message
    elsewhere = wf.steps.ServiceStep(
        "front",
        outputs=wf.steps.ServiceOutput("service", wf.steps.ServiceConfig(envs={"UP": address})),
    )
    raises_naming(
        "'serve', which is not in Workflow(steps=...)", wf.Workflow("w", steps=[elsewhere]).compile
    )


def test_settings_enumerations_are_checked() -> None:
    raises_naming("'BMP'", lambda: wf.steps.AnnotationFormatConfig(format_name="BMP"))
    raises_naming("LabelTaskTypeEnum", lambda: wf.steps.LabelTaskProperties(task_type="colouring"))
    raises_naming("model_type 'Keras'", lambda: wf.steps.ModelConfig(model_type="Keras"))
    raises_naming("needs template", lambda: wf.steps.ModelConfig(model_type="Template"))
    raises_naming("infer_type 'stream'", lambda: wf.steps.ServiceConfig(infer_type="stream"))
    raises_naming(
        "one character", lambda: wf.steps.AnnotationFormatParameters(label_separator="::")
    )
    assert wf.steps.ImportConfig(import_type="manifest").settings["import_type"] is (
        wf.steps.ImportTypeEnum.MANIFEST
    )
    assert wf.steps.Label(name="cat", type="OBJECT_DETECTION").settings["type"] is (
        wf.steps.LabelTypeEnum.OBJECT_DETECTION
    )


def test_a_data_selector_is_an_object_path_choice() -> None:
    chosen = wf.data.DataSelector(name="input_data", data_type_list=["obs", "dataset"])
    assert chosen.spec().format == "obs_directory"
    raises_naming("DataSelector 'only'", lambda: wf.data.DataSelector("only", ["dataset"]))


def test_a_workspace_is_a_name(tmp_path: Path) -> None:
    step = job("j", tmp_path)
    named = wf.Workflow("w", steps=[step], workspace=wf.resource.Workspace(workspace_id="team-a"))
    assert named.workspace == "team-a"
    assert wf.Workflow("w", steps=[step], workspace="lab").workspace == "lab"
    assert wf.Workflow("w", steps=[step]).workspace == "default"
    raises_naming("workspace name '****'", lambda: wf.resource.Workspace(workspace_id="****"))


def test_scene_names_are_display_names() -> None:
    assert wf.policy.Scene(scene_name="模型训练", scene_steps=["a"]).scene_name == "模型训练"  # type: ignore[list-item]
    raises_naming("'a/b'", lambda: wf.policy.Scene("a/b", ["a"]))  # type: ignore[list-item]


def test_data_placeholder_settings_reach_the_spec() -> None:
    model_name = wf.Placeholder("model_name", wf.PlaceholderType.STR)
    deploy = wf.data.ServiceInputPlaceholder("deploy", model_name=model_name, model_version="1.0.0")
    assert deploy.spec().constraint == {
        "model_name": {"ref": "placeholder", "name": "model_name"},
        "model_version": "1.0.0",
    }
    images = wf.data.DatasetPlaceholder("images", data_type=wf.data.DataTypeEnum.IMAGE)
    assert images.spec().constraint == {"data_type": "image"}
    flavor = wf.Placeholder("f", wf.PlaceholderType.JSON, constraint={"gpu": True})
    assert flavor.spec().constraint == {"gpu": True}


def test_an_output_config_s_metric_file_points_to_a_metrics_output() -> None:
    message = raises_naming(
        "metric_file='metrics.json'",
        lambda: wf.data.OBSOutputConfig(obs_path="/b/out/", metric_file="metrics.json"),
    )
    assert "MetricsConfig(" in message


def test_an_algorithm_asset_keeps_its_entry_point_and_takes_environments() -> None:
    step = wf.steps.JobStep(
        "j", algorithm=wf.BaseAlgorithm(id="algo", environments={"MODE": "fast"})
    )
    algorithm = wf.Workflow("w", steps=[step]).compile().step("j").typed_properties().algorithm
    assert (algorithm.source, algorithm.environments) == ("gallery", {"MODE": "fast"})
    started = wf.steps.JobStep("j", algorithm=wf.BaseAlgorithm(id="algo", command="python x.py"))
    raises_naming("step 'j': an algorithm asset", wf.Workflow("w", steps=[started]).compile)
