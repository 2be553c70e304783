"""Metrics drawn for people: every ``metrics.json`` kind (``sdk.metrics``) as SVG or an HTML
table laid out here, in Python, with no script.

``float`` values become one table; ``line chart`` a line per ``y_axis`` series against the first
``x_axis`` series; ``histogram`` bars (grouped when there are several series); ``table`` a
heat-coloured table with its numbers (a confusion matrix); ``one-dimensional-table`` a one-row
table. Every figure says what it shows in words (``<title>``/``<desc>``, a caption) and keeps
its numbers readable as text (tick and bar labels, a table under each chart), so colour and
shape are never the only carriers.

Stored metrics passed ``sdk.metrics``' checks, but the drawing does not count on it: a value
that is not a finite number is written as text and left out of the picture, and an entry
whose shape cannot be drawn says so instead of failing the page. Every piece of text is
escaped (``Markup.format`` and ``escape``).

The parts: ``base`` (sizes, numbers for people, an entry's series, a figure's caption and its
numbers), ``svg`` (line chart, histogram) and ``tables`` (heat table, one-row table, values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from web.charts.base import (
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MAX_TABLE_ROWS,
    WIDTH,
    M,
    Unusable,
    as_text,
    fmt,
    nice_ticks,
    number,
)
from web.charts.svg import histogram, line_chart
from web.charts.tables import heat, heat_table, row_table, value_table

_DRAW = {
    "line chart": line_chart,
    "histogram": histogram,
    "table": heat_table,
    "one-dimensional-table": row_table,
}


def chart(entry: Any, ident: str) -> Markup:
    """One non-``float`` entry drawn; an entry that cannot be drawn says why instead."""
    if not isinstance(entry, Mapping):
        return M('<p class="meta">A metric that is not an object cannot be drawn.</p>')
    kind = entry.get("type")
    key = as_text(entry.get("key", ""))
    draw = _DRAW.get(kind) if isinstance(kind, str) else None
    if draw is None:
        return M('<p class="meta">Metric {} has a type this page cannot draw ({}).</p>').format(
            repr(key), as_text(kind)
        )
    try:
        return draw(entry, ident)
    except Unusable as exc:
        return M('<p class="meta">Metric {} ({}) cannot be drawn: {}.</p>').format(
            repr(key), kind, str(exc)
        )


def metrics_view(metrics: Mapping[str, Any], prefix: str = "metric") -> Markup:
    """A step's metrics (output name → its ``metrics.json`` entries): the ``float`` values in
    one table, then a figure per other entry. Empty when there are none."""
    floats: list[tuple[str, Mapping[str, Any]]] = []
    figures: list[Markup] = []
    for output, entries in metrics.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, Mapping) and entry.get("type") == "float":
                floats.append((str(output), entry))
            else:
                figures.append(chart(entry, f"{prefix}-{len(figures) + 1}"))
    if not floats and not figures:
        return M("")
    return M('<div class="metrics">{}{}</div>').format(value_table(floats), M("").join(figures))


__all__ = [
    "MARGIN_LEFT",
    "MARGIN_RIGHT",
    "MAX_TABLE_ROWS",
    "WIDTH",
    "Unusable",
    "chart",
    "fmt",
    "heat",
    "heat_table",
    "histogram",
    "line_chart",
    "metrics_view",
    "nice_ticks",
    "number",
    "row_table",
    "value_table",
]
