"""The picture of a workflow's DAG: an SVG laid out here, in Python (no JavaScript).

A layered drawing, left to right: each step sits in the layer after the longest chain of steps
it waits for; an edge that skips layers passes through invisible waypoints, one per layer it
crosses, so it can bend around the steps in between. Within a layer, steps (and waypoints) are
ordered by the barycentre of their neighbours, sweeping left and right a few times, which
untangles most crossings.

The markup is a contract with the execution page's live script (which only changes a node's
``data-status`` and its ``.node-status`` text) and with ``static/dag.css`` (which colours a
node by its ``data-status``)::

    <svg class="dag" role="img" aria-labelledby="ID">   (role="group" when steps are links)
      <title id="ID">…</title>
      <path class="edge" data-from="A" data-to="B" …/>
      <a href="…"><g class="node" data-step="B" data-status="running">
        <title>B</title><rect …/><circle class="node-dot" …/>
        <text class="node-name">B</text>
        <text class="node-status">running</text>
      </g></a>
    </svg>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from markupsafe import Markup, escape

from sdk.spec import WorkflowSpec, upstream_steps

NODE_W = 184
NODE_H = 50
GAP_X = 64
GAP_Y = 18
PAD = 12
NAME_CHARS = 22
"""The longest name drawn in full (13 px text in a node); longer ones end with an ellipsis."""
SWEEPS = 4

STATUS_WORDS = {"waiting_input": "waiting for input"}
NO_STATUS = "static"
"""``data-status`` of the nodes of a picture without run statuses (an asset's preview)."""


@dataclass
class _Slot:
    """A place in a layer: a step, or a waypoint of an edge crossing the layer."""

    key: str
    layer: int
    step: str | None
    up: list[str] = field(default_factory=list)  # keys of neighbours in the layer before
    down: list[str] = field(default_factory=list)  # keys of neighbours in the layer after
    y: float = 0.0


@dataclass(frozen=True)
class Layout:
    """Where everything goes: node boxes (top-left corners) and edges as point lists."""

    width: int
    height: int
    nodes: dict[str, tuple[float, float]]
    edges: list[tuple[str, str, list[tuple[float, float]]]]


def _waits_for(spec: WorkflowSpec) -> dict[str, list[str]]:
    """step → the steps it waits for (declared dependencies, then outputs and metrics it
    reads), only among the workflow's own steps, in declaration order."""
    names = [s.name for s in spec.steps]
    known = set(names)
    found: dict[str, list[str]] = {}
    for step in spec.steps:
        try:
            upstream = upstream_steps(step)
        except (ValueError, TypeError):  # properties that do not validate: declared only
            upstream = set()
        wanted = set(step.depends_on) | upstream
        found[step.name] = [n for n in names if n in wanted and n != step.name and n in known]
    return found


def _layers(order: list[str], waits: dict[str, list[str]]) -> dict[str, int]:
    """Longest-path layering. A cycle (a stored spec no validation saw) is cut where met."""
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(name: str) -> int:
        if name in layer:
            return layer[name]
        if name in visiting:
            return -1
        visiting.add(name)
        below = [depth(dep) for dep in waits[name]]
        visiting.discard(name)
        layer[name] = 1 + max((d for d in below if d >= 0), default=-1)
        return layer[name]

    for name in order:
        depth(name)
    return layer


def layout(spec: WorkflowSpec) -> Layout:
    """The layered layout of the spec's steps."""
    order = list(dict.fromkeys(s.name for s in spec.steps))
    waits = _waits_for(spec)
    layer = _layers(order, waits)
    slots: dict[str, _Slot] = {n: _Slot(n, layer[n], n) for n in order}
    chains: list[tuple[str, str, list[str]]] = []
    for target in order:
        for source in waits[target]:
            if layer[source] >= layer[target]:
                continue  # an edge of a cut cycle
            chain = [source]
            for between in range(layer[source] + 1, layer[target]):
                key = f"\0{source}\0{target}\0{between}"
                slots[key] = _Slot(key, between, None)
                chain.append(key)
            chain.append(target)
            for upper, lower in pairwise(chain):
                slots[upper].down.append(lower)
                slots[lower].up.append(upper)
            chains.append((source, target, chain))

    count = max(layer.values(), default=0) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for key, slot in slots.items():  # steps in declaration order, waypoints after
        layers[slot.layer].append(key)
    _order_layers(layers, slots)

    pitch = NODE_H + GAP_Y
    tallest = max(len(keys) for keys in layers) if layers else 1
    for keys in layers:
        top = (tallest - len(keys)) * pitch / 2
        for index, key in enumerate(keys):
            slots[key].y = PAD + top + index * pitch

    def x_of(column: int) -> float:
        return PAD + column * (NODE_W + GAP_X)

    nodes = {name: (x_of(layer[name]), slots[name].y) for name in order}
    edges = []
    for source, target, chain in chains:
        points = [(x_of(layer[source]) + NODE_W, slots[source].y + NODE_H / 2)]
        for key in chain[1:-1]:
            waypoint = slots[key]
            points.append((x_of(waypoint.layer), waypoint.y + NODE_H / 2))
            points.append((x_of(waypoint.layer) + NODE_W, waypoint.y + NODE_H / 2))
        points.append((x_of(layer[target]), slots[target].y + NODE_H / 2))
        edges.append((source, target, points))
    width = int(2 * PAD + count * NODE_W + (count - 1) * GAP_X)
    height = int(2 * PAD + tallest * NODE_H + (tallest - 1) * GAP_Y)
    return Layout(width, height, nodes, edges)


def _order_layers(layers: list[list[str]], slots: dict[str, _Slot]) -> None:
    """Barycentre ordering, in place: alternately by the neighbours before and after."""

    def reorder(i: int, *, by_before: bool) -> None:
        position = {key: p for p, key in enumerate(layers[i - 1 if by_before else i + 1])}
        current = {key: p for p, key in enumerate(layers[i])}

        def centre(key: str) -> tuple[float, int]:
            slot = slots[key]
            near = [position[n] for n in (slot.up if by_before else slot.down)]
            mean = sum(near) / len(near) if near else float(current[key])
            return mean, current[key]

        layers[i].sort(key=centre)

    def sweep(indices: range, *, by_before: bool) -> None:
        for i in indices:
            reorder(i, by_before=by_before)

    for _ in range(SWEEPS):
        sweep(range(1, len(layers)), by_before=True)
        sweep(range(len(layers) - 2, -1, -1), by_before=False)


def shorten(name: str, limit: int = NAME_CHARS) -> str:
    """``name``, or its start and an ellipsis when longer than ``limit`` characters."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def _curve(points: list[tuple[float, float]]) -> str:
    """A smooth path through the points: horizontal tangents at each end of each hop."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        bend = max((x1 - x0) / 2, 8)
        parts.append(f"C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(parts)


def dag_svg(
    spec: WorkflowSpec,
    statuses: Mapping[str, str] | None = None,
    *,
    href: Callable[[str], str] | None = None,
    label_id: str | None = None,
) -> Markup:
    """The DAG of ``spec`` as inline SVG.

    ``statuses``: step → status, shown as colour and as words (steps it lacks are
    ``pending``); without it the picture shows each step's type. ``href``: the link of each
    step. ``label_id``: the id of the picture's title (unique on the page).
    """
    drawn = layout(spec)
    label = label_id or f"dag-{spec.name}"
    arrow = f"{label}-arrow"
    types = {s.name: s.type for s in spec.steps}
    count = len(drawn.nodes)
    summary = f"Workflow {spec.name}: {count} step{'s' if count != 1 else ''}"
    # A picture whose steps are links is a group (an image's children are hidden from
    # assistive technology, links included); its title names it either way.
    role = "img" if href is None else "group"
    out: list[str] = [
        f'<svg class="dag" role="{role}" aria-labelledby="{escape(label)}" '
        f'width="{drawn.width}" height="{drawn.height}" '
        f'viewBox="0 0 {drawn.width} {drawn.height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(label)}">{escape(summary)}</title>',
        f'<defs><marker id="{escape(arrow)}" class="dag-arrow" viewBox="0 0 10 10" refX="9" '
        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for source, target, points in drawn.edges:
        out.append(
            f'<path class="edge" data-from="{escape(source)}" data-to="{escape(target)}" '
            f'd="{_curve(points)}" marker-end="url(#{escape(arrow)})"/>'
        )
    for name, (x, y) in drawn.nodes.items():
        if statuses is None:
            status, words = NO_STATUS, f"{types[name]} step"
        else:
            status = statuses.get(name, "pending")
            words = status_words(status)
        node = (
            f'<g class="node" data-step="{escape(name)}" data-status="{escape(status)}" '
            f'transform="translate({x:.1f},{y:.1f})">'
            f"<title>{escape(name)}</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="8" ry="8"/>'
            f'<circle class="node-dot" cx="16" cy="{NODE_H / 2:.0f}" r="5"/>'
            f'<text class="node-name" x="30" y="21">{escape(shorten(name))}</text>'
            f'<text class="node-status" x="30" y="38">{escape(words)}</text>'
            "</g>"
        )
        if href is not None:
            node = f'<a href="{escape(href(name))}">{node}</a>'
        out.append(node)
    out.append("</svg>")
    return Markup("".join(out))
