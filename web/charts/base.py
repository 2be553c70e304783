"""What every chart shares: sizes and colours, numbers for people, the parts of a
``metrics.json`` entry, and the pieces of a figure (caption, the numbers table, messages)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

WIDTH = 640
HEIGHT = 300
MARGIN_LEFT = 64
MARGIN_RIGHT = 20
MARGIN_TOP = 16
MARGIN_BOTTOM = 48
LEGEND_ROW = 20
MAX_MARKERS = 60
"""A line with more points is drawn without a marker on each."""
MAX_BAR_LABELS = 24
MAX_TABLE_ROWS = 500
"""The numbers under a chart stop here (the picture still has every point)."""
MAX_LABEL_CHARS = 28
PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#9a6700", "#bf3989")
DASHES = ("", "6 4", "2 3", "10 3 2 3", "4 2", "1 2")
MARKERS = ("circle", "square", "triangle", "diamond", "circle", "square")
HEAT_LOW = (246, 248, 250)
HEAT_HIGH = (5, 80, 174)

M = Markup


class Unusable(ValueError):
    """An entry whose shape cannot be drawn; the message says what is wrong."""


# --- numbers ---------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value: Any) -> str:
    """A value as a person reads it: integers whole, others to 4 significant digits; what is
    not a finite number as its own words (NaN, ∞, or the text itself)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    if value is None:
        return "—"
    return str(value)


def short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high`` (a flat range gets room around it)."""
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            step = multiple * magnitude
            break
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    steps = round((end - start) / step)
    return [round(start + i * step, 12) for i in range(steps + 1)]


@dataclass(frozen=True)
class Scale:
    """A linear map from data values to pixels."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low
        return self.start + (value - self.low) / span * (self.end - self.start)


def px(value: float) -> str:
    return f"{value:.1f}"


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    title: str
    values: list[Any]


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else fmt(value)


def series_list(data: Mapping[str, Any], axis: str) -> list[Series]:
    found = data.get(axis)
    if not isinstance(found, list) or not found:
        raise Unusable(f"{axis} must be a non-empty list of series")
    out = []
    for index, item in enumerate(found):
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), list):
            raise Unusable(f"{axis}[{index}] needs a list of values")
        title = as_text(item.get("title") or "") or f"{axis.split('_')[0]} {index + 1}"
        out.append(Series(title, list(item["value"])))
    return out


def chart_series(entry: Mapping[str, Any]) -> tuple[Series, list[Series]]:
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise Unusable("data must be an object")
    xs = series_list(data, "x_axis")[0]
    ys = series_list(data, "y_axis")
    for series in ys:
        if len(series.values) != len(xs.values):
            raise Unusable(
                f"series {series.title!r} has {len(series.values)} points but the x axis has "
                f"{len(xs.values)}"
            )
    return xs, ys


def title_of(entry: Mapping[str, Any]) -> tuple[str, str]:
    key = as_text(entry.get("key", ""))
    title = as_text(entry.get("title") or "") or key
    return key, title


# --- pieces ----------------------------------------------------------------------------------


def figcaption(title: str, key: str, kind: str) -> Markup:
    extra = f"{key}, {kind}" if key and key != title else kind
    return M('<figcaption><strong>{}</strong> <span class="meta">({})</span></figcaption>').format(
        title, extra
    )


def numbers_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str) -> Markup:
    """The numbers of a chart as a table, in a disclosure under it."""
    shown = rows[:MAX_TABLE_ROWS]
    head = M("").join(M('<th scope="col">{}</th>').format(h) for h in headers)
    body = M("").join(
        M("<tr>{}</tr>").format(
            M("").join(
                M('<td class="num">{}</td>').format(fmt(cell))
                if i
                else M('<th scope="row" class="num">{}</th>').format(fmt(cell))
                for i, cell in enumerate(row)
            )
        )
        for row in shown
    )
    more = ""
    if len(rows) > len(shown):
        more = M('<p class="meta">The first {} of {} rows.</p>').format(len(shown), len(rows))
    return M(
        '<details class="chart-numbers"><summary>Numbers</summary><div class="table-wrap fit">'
        "<table><caption>{}</caption><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
        "</div>{}</details>"
    ).format(caption, head, body, more)


def not_drawn(count: int) -> str:
    if not count:
        return ""
    return f" {count} value{'s are' if count > 1 else ' is'} not a finite number and not drawn."


def message(ident: str, caption: Markup, text: str) -> Markup:
    return M('<figure class="chart" id="{}">{}<p class="meta">{}</p></figure>').format(
        ident, caption, text
    )
