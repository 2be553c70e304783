"""The metrics charts (web/charts.py): every metrics.json kind drawn with its numbers readable
as text, escaped, and the degenerate inputs (one point, flat values, NaN/inf, empty) drawn or
explained rather than failing."""

from __future__ import annotations

import json
import math
import re
from typing import Any
from xml.etree import ElementTree

import pytest
from markupsafe import Markup

from sdk import metrics as sdk_metrics
from web import charts

XSS = "<script>alert(1)</script>"


def entry(kind: str, data: Any, key: str = "m", title: str | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "title": key.upper() if title is None else title,
        "type": kind,
        "data": data,
    }


def series(x: list[Any], *ys: tuple[str, list[Any]], x_title: str = "epoch") -> dict[str, Any]:
    return {
        "x_axis": [{"title": x_title, "value": x}],
        "y_axis": [{"title": title, "value": values} for title, values in ys],
    }


TABLE = {
    "cell_value": [[50, 2], [3, 45]],
    "row_labels": {"title": "actual", "value": ["cat", "dog"]},
    "col_labels": {"title": "predicted", "value": ["cat", "dog"]},
}
ROW = {"cell_value": [[100, 3, 0.25]], "labels": ["samples", "max_ms", "p99"]}


def well_formed(markup: str) -> ElementTree.Element:
    """The markup parses as XML (every tag closed, every attribute quoted)."""
    return ElementTree.fromstring(f"<root>{markup}</root>")


def svg_texts(markup: str) -> list[str]:
    return [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", markup)]


def test_every_kind_the_sdk_accepts_is_drawn() -> None:
    entries = [
        entry("float", {"value": 0.91}, "acc"),
        entry("line chart", series([1, 2, 3], ("loss", [0.9, 0.7, 0.6])), "loss"),
        entry("histogram", series([1, 2, 3], ("count", [4, 8, 2]), x_title="bin"), "hist"),
        entry("table", TABLE, "cm"),
        entry("one-dimensional-table", ROW, "eval"),
    ]
    assert sdk_metrics.parse(json.dumps(entries).encode()) == entries
    view = charts.metrics_view({"metrics": entries})
    assert isinstance(view, Markup)
    well_formed(view)
    assert view.count('<figure class="chart"') == 4
    assert "ACC" in view and "0.91" in view  # the float value in the values table
    for kind in ("line chart", "histogram", "table", "one-dimensional table"):
        assert f"({kind})" in view or f", {kind})" in view


def test_a_line_chart_has_a_title_a_description_axes_and_its_numbers() -> None:
    drawn = charts.line_chart(
        entry("line chart", series([1, 2, 3], ("loss", [0.9, 0.7, 0.6]), ("acc", [0.5, 0.6, 0.8]))),
        "c1",
    )
    well_formed(drawn)
    assert 'role="img"' in drawn and 'aria-labelledby="c1-t c1-d"' in drawn
    assert '<title id="c1-t">M</title>' in drawn
    description = re.search(r'<desc id="c1-d">([^<]*)</desc>', drawn)
    assert description and "loss, acc against epoch" in description.group(1)
    assert drawn.count("<polyline") == 2
    assert "loss: 0.9 at epoch 1" in drawn  # each point's value, as text
    texts = svg_texts(drawn)
    assert "epoch" in texts and "0.6" in texts  # axis title and a tick
    assert "loss" in texts and "acc" in texts  # the legend names both lines
    numbers = re.search(r"<details class=\"chart-numbers\">.*</details>", drawn)
    assert numbers and '<td class="num">0.7</td>' in numbers.group(0)


def test_lines_differ_by_more_than_colour() -> None:
    drawn = charts.line_chart(
        entry("line chart", series([1, 2], ("a", [1, 2]), ("b", [2, 1]))), "c"
    )
    dashes = re.findall(r'<polyline [^>]*stroke-dasharray="([^"]*)"', drawn)
    assert len(set(dashes)) == 2
    assert "<circle" in drawn and "<rect" in drawn  # different marker shapes


def test_a_histogram_labels_each_bar_with_its_value() -> None:
    drawn = charts.histogram(
        entry("histogram", series([0.1, 0.2, 0.3], ("count", [3, 10, 0]), x_title="bin")), "h"
    )
    well_formed(drawn)
    assert drawn.count('class="bar"') == 3
    values = re.findall(r'<text class="bar-value"[^>]*>([^<]*)</text>', drawn)
    assert values == ["3", "10", "0"]
    assert "count: 10 at bin 0.2" in drawn


def test_negative_bars_hang_below_zero() -> None:
    drawn = charts.histogram(entry("histogram", series([1, 2], ("delta", [-4, 6]))), "h")
    assert "-4" in svg_texts(drawn)
    ticks = [t for t in svg_texts(drawn) if re.fullmatch(r"-?\d+", t)]
    assert min(int(t) for t in ticks) < 0 < max(int(t) for t in ticks)


def test_a_confusion_matrix_is_a_heat_coloured_table_with_its_numbers() -> None:
    drawn = charts.heat_table(entry("table", TABLE, "cm", "Confusion"), "t")
    well_formed(drawn)
    cells = re.findall(
        r'<td class="num" style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})">'
        r"(\d+)</td>",
        drawn,
    )
    assert [c[2] for c in cells] == ["50", "2", "3", "45"]
    by_value = {int(value): background for background, _, value in cells}
    assert by_value[50] == charts.heat(1.0)[0]  # the highest is darkest
    assert by_value[2] == charts.heat(0.0)[0]  # the lowest lightest
    assert '<th scope="col">actual \\ predicted</th>' in drawn
    assert "from 2 (lightest) to 50 (darkest)" in drawn


@pytest.mark.parametrize("share", [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0])
def test_heat_cells_keep_their_numbers_readable(share: float) -> None:
    background, text = charts.heat(share)

    def luminance(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    light, dark = sorted((luminance(background), luminance(text)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5  # WCAG AA for text


def test_a_one_dimensional_table_puts_labels_over_values() -> None:
    drawn = charts.row_table(entry("one-dimensional-table", ROW, "eval"), "r")
    well_formed(drawn)
    assert re.findall(r'<th scope="col">([^<]*)</th>', drawn) == ["samples", "max_ms", "p99"]
    assert re.findall(r'<td class="num">([^<]*)</td>', drawn) == ["100", "3", "0.25"]


def test_metric_names_titles_and_labels_are_escaped() -> None:
    entries = [
        entry("float", {"value": 1.5}, XSS, XSS),
        entry("line chart", series([1, 2], (XSS, [1, 2]), x_title=XSS), XSS, XSS),
        entry("histogram", series([XSS, "b"], (XSS, [1, 2])), "h" + XSS, XSS),
        entry(
            "table",
            {
                "cell_value": [[1, XSS]],
                "row_labels": {"title": XSS, "value": [XSS]},
                "col_labels": {"title": XSS, "value": [XSS, "b"]},
            },
            "t" + XSS,
            XSS,
        ),
        entry("one-dimensional-table", {"cell_value": [[XSS]], "labels": [XSS]}, "o" + XSS, XSS),
        entry("no such kind", {}, "k" + XSS, XSS),
    ]
    view = charts.metrics_view({XSS: entries})
    assert "<script>" not in view
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in view
    well_formed(view)


def test_one_point_is_drawn_with_room_around_it() -> None:
    drawn = charts.line_chart(entry("line chart", series([3], ("loss", [0.5]))), "p")
    well_formed(drawn)
    assert drawn.count("<circle") == 1
    x = float(re.search(r'<circle cx="([\d.]+)"', drawn).group(1))  # type: ignore[union-attr]
    assert charts.MARGIN_LEFT < x < charts.WIDTH - charts.MARGIN_RIGHT  # inside, not on an edge


def test_flat_values_get_a_range() -> None:
    assert charts.nice_ticks(5, 5)[0] < 5 < charts.nice_ticks(5, 5)[-1]
    assert charts.nice_ticks(0, 0)[0] < 0 < charts.nice_ticks(0, 0)[-1]
    drawn = charts.line_chart(entry("line chart", series([1, 2, 3], ("flat", [2, 2, 2]))), "f")
    points = re.search(r'<polyline points="([^"]+)"', drawn).group(1)  # type: ignore[union-attr]
    ys = {p.split(",")[1] for p in points.split()}
    assert len(ys) == 1  # one flat line, drawn (no division by zero)
    table = charts.heat_table(
        entry("table", {**TABLE, "cell_value": [[7, 7], [7, 7]]}), "flat-table"
    )
    assert table.count(f"background:{charts.heat(0.0)[0]}") == 4


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    ticks = charts.nice_ticks(0.13, 0.97)
    assert ticks[0] <= 0.13 and ticks[-1] >= 0.97
    assert all(len(charts.fmt(t)) <= 4 for t in ticks)
    assert charts.nice_ticks(1e6, 3e6)[-1] >= 3e6


def test_values_that_are_not_finite_numbers_are_text_and_not_drawn() -> None:
    nan, inf = float("nan"), float("inf")
    drawn = charts.line_chart(entry("line chart", series([1, 2, 3], ("y", [1.0, nan, inf]))), "n")
    well_formed(drawn)
    assert drawn.count("<circle") == 1
    assert "2 values are not a finite number and not drawn" in drawn
    assert '<td class="num">NaN</td>' in drawn and '<td class="num">∞</td>' in drawn
    assert "nan" not in re.sub(r"<[^>]+>", "", drawn).replace("NaN", "").lower().split()
    only_bad = charts.histogram(entry("histogram", series([1], ("y", [nan]))), "b")
    assert "No value is a finite number." in only_bad and "<svg" not in only_bad
    value = charts.value_table([("m", entry("float", {"value": inf}, "big"))])
    assert "not a finite number (∞)" in value
    table = charts.heat_table(entry("table", {**TABLE, "cell_value": [[nan, 1], [2, 3]]}), "t")
    assert '<td class="num text">NaN</td>' in table


def test_empty_inputs_say_so() -> None:
    assert "No points to draw." in charts.line_chart(
        entry("line chart", series([], ("y", []))), "e"
    )
    assert "No bars to draw." in charts.histogram(entry("histogram", series([], ("y", []))), "e")
    empty_table = {
        "cell_value": [],
        "row_labels": {"title": "", "value": []},
        "col_labels": {"title": "", "value": []},
    }
    assert "The table is empty." in charts.heat_table(entry("table", empty_table), "e")
    assert "The table is empty." in charts.row_table(
        entry("one-dimensional-table", {"cell_value": [[]], "labels": []}), "e"
    )
    assert charts.metrics_view({}) == ""
    assert charts.metrics_view({"out": []}) == ""


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (entry("line chart", {"x_axis": [], "y_axis": []}), "x_axis must be a non-empty list"),
        (entry("line chart", series([1, 2], ("y", [1]))), "has 1 points but the x axis has 2"),
        (entry("histogram", "not an object"), "data must be an object"),
        (entry("table", {**TABLE, "cell_value": [[1]]}), "do not match"),
        (entry("one-dimensional-table", {"cell_value": [[1], [2]], "labels": ["a"]}), "one row"),
        (entry("pie", {}), "a type this page cannot draw"),
    ],
)
def test_an_entry_that_cannot_be_drawn_says_why(broken: dict[str, Any], why: str) -> None:
    drawn = charts.chart(broken, "x")
    assert why in drawn
    well_formed(drawn)


def test_many_points_keep_the_picture_light_and_the_table_bounded() -> None:
    xs = list(range(2000))
    drawn = charts.line_chart(
        entry("line chart", series(xs, ("y", [math.sin(x / 50) for x in xs]))), "big"
    )
    assert "<circle" not in drawn  # no marker per point past MAX_MARKERS
    assert drawn.count("<tr>") == charts.MAX_TABLE_ROWS + 1  # header + the first rows
    assert f"The first {charts.MAX_TABLE_ROWS} of 2000 rows." in drawn


def test_formatting_numbers() -> None:
    assert charts.fmt(3) == "3"
    assert charts.fmt(3.0) == "3"
    assert charts.fmt(0.123456) == "0.1235"
    assert charts.fmt(float("-inf")) == "-∞"
    assert charts.fmt(True) == "true"
    assert charts.fmt(None) == "—"
