"""The DAG picture (web/dag.py): layout rules and the markup contract, on the SVG itself."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any

from sdk.spec import StepSpec, WorkflowSpec
from web.dag import NODE_H, NODE_W, dag_svg, layout, shorten

SVG = "{http://www.w3.org/2000/svg}"


def condition(name: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    literal = {"ref": "literal", "value": 1}
    return {
        "name": name,
        "type": "condition",
        "depends_on": depends_on or [],
        "properties": {"conditions": [{"op": "==", "left": literal, "right": literal}]},
    }


def spec_of(*steps: dict[str, Any]) -> WorkflowSpec:
    return WorkflowSpec.model_validate({"name": "pipeline", "steps": list(steps)})


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-step"]: g for g in root.iter(f"{SVG}g") if "data-step" in g.attrib}


def test_layers_follow_dependencies() -> None:
    # a diamond with a long edge: prepare -> train -> evaluate -> publish, prepare -> publish
    spec = spec_of(
        condition("prepare"),
        condition("train", ["prepare"]),
        condition("tune", ["prepare"]),
        condition("evaluate", ["train", "tune"]),
        condition("publish", ["evaluate", "prepare"]),
    )
    drawn = layout(spec)
    x = {name: box[0] for name, box in drawn.nodes.items()}
    assert x["prepare"] < x["train"] == x["tune"] < x["evaluate"] < x["publish"]
    for source, target, _ in drawn.edges:
        assert x[source] < x[target], (source, target)
    # every dependency is drawn, once
    assert sorted((s, t) for s, t, _ in drawn.edges) == sorted(
        [
            ("prepare", "train"),
            ("prepare", "tune"),
            ("train", "evaluate"),
            ("tune", "evaluate"),
            ("evaluate", "publish"),
            ("prepare", "publish"),
        ]
    )


def test_reading_an_output_is_a_dependency() -> None:
    job = {
        "name": "train",
        "type": "job",
        "properties": {"algorithm": {"source": "gallery", "content_id": "c", "version": "1.0.0"}},
        "outputs": [{"name": "model"}],
    }
    reader = {
        "name": "report",
        "type": "job",
        "properties": {"algorithm": {"source": "gallery", "content_id": "c", "version": "1.0.0"}},
        "inputs": [{"name": "m", "data": {"ref": "output", "step": "train", "output": "model"}}],
    }
    drawn = layout(spec_of(reader, job))
    assert drawn.nodes["train"][0] < drawn.nodes["report"][0]
    assert [(s, t) for s, t, _ in drawn.edges] == [("train", "report")]


def test_no_nodes_overlap_and_all_fit() -> None:
    steps = [condition(f"s{i}") for i in range(6)]
    steps += [condition(f"t{i}", [f"s{i}", f"s{(i + 3) % 6}"]) for i in range(6)]
    steps += [condition("end", [f"t{i}" for i in range(6)])]
    drawn = layout(spec_of(*steps))
    boxes = list(drawn.nodes.values())
    for (ax, ay), (bx, by) in itertools.combinations(boxes, 2):
        apart = ax + NODE_W <= bx or bx + NODE_W <= ax or ay + NODE_H <= by or by + NODE_H <= ay
        assert apart, ((ax, ay), (bx, by))
    for x, y in boxes:
        assert x >= 0 and x + NODE_W <= drawn.width
        assert y >= 0 and y + NODE_H <= drawn.height


def test_barycentre_ordering_untangles_a_crossing() -> None:
    # declared crosswise: a->y, b->x; the ordering puts x next to b and y next to a
    spec = spec_of(condition("a"), condition("b"), condition("x", ["b"]), condition("y", ["a"]))
    drawn = layout(spec)
    y = {name: box[1] for name, box in drawn.nodes.items()}
    assert (y["a"] < y["b"]) == (y["y"] < y["x"])


def test_markup_contract() -> None:
    spec = spec_of(condition("prepare"), condition("train", ["prepare"]))
    root = parse(
        dag_svg(
            spec, {"prepare": "succeeded", "train": "waiting_input"}, href=lambda s: f"?step={s}"
        )
    )
    assert root.tag == f"{SVG}svg"
    assert root.attrib["class"] == "dag"
    assert root.attrib["role"] == "group"  # its steps are links: not a flat image
    assert parse(dag_svg(spec)).attrib["role"] == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.attrib["id"] == root.attrib["aria-labelledby"]
    assert "pipeline" in (title.text or "")
    found = nodes(root)
    assert set(found) == {"prepare", "train"}
    assert found["train"].attrib["data-status"] == "waiting_input"
    assert found["prepare"].attrib["data-status"] == "succeeded"
    status = found["train"].find(f"{SVG}text[@class='node-status']")
    assert status is not None and status.text == "waiting for input"  # words, not colour alone
    name = found["train"].find(f"{SVG}text[@class='node-name']")
    assert name is not None and name.text == "train"
    assert found["train"].find(f"{SVG}rect") is not None
    links = [a.attrib["href"] for a in root.iter(f"{SVG}a")]
    assert sorted(links) == ["?step=prepare", "?step=train"]
    edges = [p for p in root.iter(f"{SVG}path") if p.attrib.get("class") == "edge"]
    assert [(e.attrib["data-from"], e.attrib["data-to"]) for e in edges] == [("prepare", "train")]
    assert all(e.attrib["marker-end"].startswith("url(#") for e in edges)


def test_steps_missing_from_statuses_are_pending_and_no_statuses_shows_types() -> None:
    spec = spec_of(condition("prepare"), condition("train", ["prepare"]))
    found = nodes(parse(dag_svg(spec, {"prepare": "running"})))
    assert found["train"].attrib["data-status"] == "pending"
    preview = nodes(parse(dag_svg(spec)))
    status = preview["train"].find(f"{SVG}text[@class='node-status']")
    assert status is not None and status.text == "condition step"
    assert not list(parse(dag_svg(spec)).iter(f"{SVG}a"))


def test_long_names_are_shortened_with_the_full_name_kept() -> None:
    long = "a_really_long_step_name_that_goes_on_and_on"
    found = nodes(parse(dag_svg(spec_of(condition(long)))))
    name = found[long].find(f"{SVG}text[@class='node-name']")
    assert name is not None and name.text == shorten(long)
    assert name.text.endswith("…") and len(name.text) < len(long)
    title = found[long].find(f"{SVG}title")
    assert title is not None and title.text == long
    assert shorten("short") == "short"


def test_names_are_escaped() -> None:
    # A stored spec the server no longer validates could hold anything: still only text.
    hostile = '<script>alert(1)</script>"&'
    step = StepSpec.model_construct(
        name=hostile,
        title="",
        description="",
        type="condition",
        inputs=[],
        outputs=[],
        properties={},
        policy=StepSpec.model_fields["policy"].get_default(call_default_factory=True),
        depends_on=[],
    )
    spec = WorkflowSpec.model_construct(name="x<y", steps=[step], placeholders=[], storages=[])
    markup = str(dag_svg(spec, {hostile: "<b>bad</b>"}, href=lambda s: f"/go?{s}"))
    assert "<script>" not in markup and "<b>" not in markup
    root = parse(markup)  # still well-formed XML
    found = nodes(root)
    assert set(found) == {hostile}
    assert found[hostile].attrib["data-status"] == "<b>bad</b>"
    title = found[hostile].find(f"{SVG}title")
    assert title is not None and title.text == hostile


def test_a_cycle_in_a_stored_spec_still_draws() -> None:
    a = StepSpec.model_validate(condition("a", ["b"]))
    b = StepSpec.model_validate(condition("b", ["a"]))
    spec = WorkflowSpec.model_construct(name="loop", steps=[a, b], placeholders=[], storages=[])
    found = nodes(parse(dag_svg(spec)))
    assert set(found) == {"a", "b"}
