"""The pure DAG rules of an execution, on IR built by the SDK (no Temporal needed)."""

from __future__ import annotations

from typing import Any

import pytest

import sdk as wf
from runner import dag
from sdk import spec as ir
from sdk.examples.digits.workflow import workflow as digits


def job(name: str, **kwargs: Any) -> wf.steps.JobStep:
    outputs = kwargs.pop("outputs", [wf.steps.JobOutput("out")])
    return wf.steps.JobStep(
        name=name,
        algorithm=wf.GalleryAlgorithm("00000000-0000-0000-0000-000000000001", "1.0.0"),
        outputs=outputs,
        **kwargs,
    )


def literal_resolver(values: dict[str, Any]) -> dag.Resolver:
    def resolve(value: Any) -> Any:
        if isinstance(value, ir.LiteralValue):
            return value.value
        if isinstance(value, ir.PlaceholderRef):
            return values[value.name]
        if isinstance(value, ir.MetricRef):
            return values[f"{value.step}.{value.key}"]
        raise AssertionError(value)

    return resolve


def test_ready_steps_follow_dependencies_and_run_in_parallel() -> None:
    a = job("a")
    b = job("b", depend_steps=[a])
    c = job("c", depend_steps=[a])
    d = job("d", inputs=[wf.steps.JobInput("x", b.outputs["out"].as_input())], depend_steps=[c])
    spec = wf.Workflow("w", steps=[a, b, c, d]).compile()
    assert dag.ready_steps(spec, {}) == ["a"]
    assert dag.ready_steps(spec, {"a": "running"}) == []
    assert dag.ready_steps(spec, {"a": "succeeded"}) == ["b", "c"]
    # d reads b's output, so it waits for b even though it only declared c.
    assert dag.ready_steps(spec, {"a": "succeeded", "b": "running", "c": "succeeded"}) == []
    assert dag.ready_steps(spec, {"a": "succeeded", "b": "skipped", "c": "succeeded"}) == ["d"]
    assert dag.ready_steps(spec, {"a": "failed"}) == []


def test_a_step_whose_dependencies_were_all_skipped_is_skipped() -> None:
    a, b = job("a"), job("b")
    m = job("m", depend_steps=[a, b])
    spec = wf.Workflow("w", steps=[a, b, m]).compile()
    resolve = literal_resolver({})
    assert dag.decide(spec, "m", {"a": "skipped", "b": "skipped"}, resolve) == "skip"
    assert dag.decide(spec, "m", {"a": "skipped", "b": "succeeded"}, resolve) == "run"
    assert dag.decide(spec, "a", {}, resolve) == "run"


def test_dependencies_outside_the_selected_steps_do_not_skip_a_step() -> None:
    """A scene step whose dependencies all lie outside the scene (statuses 'skipped' there:
    they did not run before) still runs: only the selected steps' own skips count."""
    a = job("a")
    b = job("b", depend_steps=[a])
    spec = wf.Workflow("w", steps=[a, b]).compile()
    resolve = literal_resolver({})
    outside = {"a": "skipped", "b": "pending"}
    assert dag.decide(spec, "b", outside, resolve, selected=["b"]) == "run"
    assert dag.decide(spec, "b", outside, resolve, selected=["a", "b"]) == "skip"


def test_own_skip_conditions_take_priority_over_the_default_rule() -> None:
    flag = wf.Placeholder("skip_m", wf.PlaceholderType.BOOL, default=False)
    a = job("a")
    policy = wf.steps.StepPolicy(
        skip_conditions=[wf.steps.Condition(wf.steps.ConditionTypeEnum.EQ, flag, True)]
    )
    m = job("m", depend_steps=[a], policy=policy)
    spec = wf.Workflow("w", steps=[a, m]).compile()
    # All dependencies skipped, but m's own policy says run.
    assert dag.decide(spec, "m", {"a": "skipped"}, literal_resolver({"skip_m": False})) == "run"
    assert dag.decide(spec, "m", {"a": "succeeded"}, literal_resolver({"skip_m": True})) == "skip"


def test_conditions_with_or_nesting_and_metrics() -> None:
    spec = digits.compile()
    check = spec.step("good_enough")
    props = check.typed_properties()
    resolve = literal_resolver({"train.accuracy": 0.95, "min_accuracy": 0.9})
    assert dag.all_hold(props.conditions, resolve) is True
    assert dag.branch_skips(check, True) == {"report"}
    low = literal_resolver({"train.accuracy": 0.5, "min_accuracy": 0.9})
    assert dag.all_hold(props.conditions, low) is False
    assert dag.branch_skips(check, False) == {"export"}

    lit = ir.LiteralValue
    either = ir.ConditionSpec(
        op="or",
        left=ir.ConditionSpec(op=">", left=lit(value=10), right=lit(value=9)),
        right=ir.ConditionSpec(op="<", left=lit(value=10), right=lit(value=9)),
    )
    member = ir.ConditionSpec(op="in", left=lit(value="b"), right=lit(value=["a", "b"]))
    differs = ir.ConditionSpec(op="!=", left=lit(value=1), right=lit(value=2))
    assert dag.all_hold([either, member, differs], literal_resolver({}))
    with pytest.raises(dag.DagError, match="cannot compare"):
        dag.evaluate(
            ir.ConditionSpec(op=">", left=lit(value="x"), right=lit(value=1)), lambda v: v.value
        )


def test_the_branch_not_taken_is_skipped_and_the_skip_spreads() -> None:
    spec = digits.compile()
    statuses = {"prepare": "succeeded", "train": "succeeded", "good_enough": "succeeded"}
    off = frozenset({"report"})
    resolve = literal_resolver({})
    assert dag.decide(spec, "report", statuses, resolve, off) == "skip"
    assert dag.decide(spec, "export", statuses, resolve, off) == "run"


def test_selector_takes_the_one_step_that_ran() -> None:
    a, b = job("a"), job("b")
    selector = wf.data.DataConsumptionSelector(
        [a.outputs["out"].as_input(), b.outputs["out"].as_input()]
    )
    m = job("m", inputs=[wf.steps.JobInput("data", selector)], depend_steps=[a, b])
    spec = wf.Workflow("w", steps=[a, b, m]).compile()
    value = spec.step("m").inputs[0].data
    assert isinstance(value, ir.SelectorRef)
    chosen = dag.select(value, {"a": "skipped", "b": "succeeded"}, "m")
    assert (chosen.step, chosen.output) == ("b", "out")
    with pytest.raises(dag.DagError, match=r"step 'm': none of a\.out, b\.out produced output"):
        dag.select(value, {"a": "skipped", "b": "skipped"}, "m")
    with pytest.raises(dag.DagError, match=r"exactly one output, but a\.out, b\.out all ran"):
        dag.select(value, {"a": "succeeded", "b": "succeeded"}, "m")


def test_scenes_run_their_steps_in_order_and_need_outside_outputs() -> None:
    spec = digits.compile()
    plan = dag.plan_scene(spec, "train_and_export", available=[("prepare", "data")])
    assert plan.steps == ["train", "good_enough", "export", "report"]
    assert plan.entry_outputs == [("prepare", "data")]
    assert plan.missing == []
    refused = dag.plan_scene(spec, "train_and_export", available=[])
    assert refused.missing == [("prepare", "data")]
    alone = dag.plan_scene(spec, "prepare_data", available=[])
    assert (alone.steps, alone.missing) == (["prepare"], [])
    with pytest.raises(dag.DagError, match="unknown scene 'nope'"):
        dag.plan_scene(spec, "nope", available=[])
    # Steps outside the scene count as done for readiness.
    assert dag.ready_steps(spec, {}, selected=plan.steps) == ["train"]
