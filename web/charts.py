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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
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

_M = Markup


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


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
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


def _px(value: float) -> str:
    return f"{value:.1f}"


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    title: str
    values: list[Any]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else fmt(value)


def _series_list(data: Mapping[str, Any], axis: str) -> list[Series]:
    found = data.get(axis)
    if not isinstance(found, list) or not found:
        raise Unusable(f"{axis} must be a non-empty list of series")
    out = []
    for index, item in enumerate(found):
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), list):
            raise Unusable(f"{axis}[{index}] needs a list of values")
        title = _text(item.get("title") or "") or f"{axis.split('_')[0]} {index + 1}"
        out.append(Series(title, list(item["value"])))
    return out


def _chart_series(entry: Mapping[str, Any]) -> tuple[Series, list[Series]]:
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise Unusable("data must be an object")
    xs = _series_list(data, "x_axis")[0]
    ys = _series_list(data, "y_axis")
    for series in ys:
        if len(series.values) != len(xs.values):
            raise Unusable(
                f"series {series.title!r} has {len(series.values)} points but the x axis has "
                f"{len(xs.values)}"
            )
    return xs, ys


def _title(entry: Mapping[str, Any]) -> tuple[str, str]:
    key = _text(entry.get("key", ""))
    title = _text(entry.get("title") or "") or key
    return key, title


# --- pieces ----------------------------------------------------------------------------------


def _caption(title: str, key: str, kind: str) -> Markup:
    extra = f"{key}, {kind}" if key and key != title else kind
    return _M('<figcaption><strong>{}</strong> <span class="meta">({})</span></figcaption>').format(
        title, extra
    )


def _numbers_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str) -> Markup:
    """The numbers of a chart as a table, in a disclosure under it."""
    shown = rows[:MAX_TABLE_ROWS]
    head = _M("").join(_M('<th scope="col">{}</th>').format(h) for h in headers)
    body = _M("").join(
        _M("<tr>{}</tr>").format(
            _M("").join(
                _M('<td class="num">{}</td>').format(fmt(cell))
                if i
                else _M('<th scope="row" class="num">{}</th>').format(fmt(cell))
                for i, cell in enumerate(row)
            )
        )
        for row in shown
    )
    more = ""
    if len(rows) > len(shown):
        more = _M('<p class="meta">The first {} of {} rows.</p>').format(len(shown), len(rows))
    return _M(
        '<details class="chart-numbers"><summary>Numbers</summary><div class="table-wrap fit">'
        "<table><caption>{}</caption><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
        "</div>{}</details>"
    ).format(caption, head, body, more)


def _svg_open(ident: str, height: float, title: str, desc: str) -> Markup:
    return _M(
        '<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" role="img" aria-labelledby="{i}-t {i}-d">'
        '<title id="{i}-t">{t}</title><desc id="{i}-d">{d}</desc>'
    ).format(w=WIDTH, h=_px(height), i=ident, t=title, d=desc)


def _y_axis(scale: Scale, ticks: list[float], left: float, right: float) -> Markup:
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            _M(
                '<line class="grid" x1="{l}" x2="{r}" y1="{y}" y2="{y}" stroke="#d0d7de" '
                'stroke-width="1"/><text class="tick" x="{tx}" y="{ty}" text-anchor="end" '
                'font-size="11" fill="#57606a">{label}</text>'
            ).format(
                l=_px(left),
                r=_px(right),
                y=_px(y),
                tx=_px(left - 6),
                ty=_px(y + 4),
                label=fmt(tick),
            )
        )
    return _M("").join(parts)


def _axis_titles(x_title: str, y_title: str, plot_bottom: float) -> Markup:
    mid_x = (MARGIN_LEFT + WIDTH - MARGIN_RIGHT) / 2
    mid_y = (MARGIN_TOP + plot_bottom) / 2
    return _M(
        '<text class="axis-title" x="{mx}" y="{xb}" text-anchor="middle" font-size="12" '
        'fill="#1f2328">{xt}</text>'
        '<text class="axis-title" x="14" y="{my}" text-anchor="middle" font-size="12" '
        'fill="#1f2328" transform="rotate(-90 14 {my})">{yt}</text>'
    ).format(
        mx=_px(mid_x),
        xb=_px(plot_bottom + 36),
        xt=_short(x_title, 60),
        my=_px(mid_y),
        yt=_short(y_title, 40),
    )


def _legend(names: Sequence[str], top: float, swatch: str) -> tuple[Markup, float]:
    """One entry per series (its line style or bar colour and its name), wrapped in rows;
    the legend and its height."""
    if len(names) < 2:
        return _M(""), 0.0
    parts = []
    x, y = float(MARGIN_LEFT), top
    for index, name in enumerate(names):
        label = _short(name)
        width = 30 + 7 * len(label) + 16
        if x + width > WIDTH - MARGIN_RIGHT and x > MARGIN_LEFT:
            x, y = float(MARGIN_LEFT), y + LEGEND_ROW
        colour = PALETTE[index % len(PALETTE)]
        if swatch == "line":
            mark = _M(
                '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2.5" '
                'stroke-dasharray="{d}"/>{m}'
            ).format(
                x1=_px(x),
                x2=_px(x + 24),
                y=_px(y),
                c=colour,
                d=DASHES[index % len(DASHES)],
                m=_marker(index, x + 12, y, colour, ""),
            )
        else:
            mark = _M('<rect x="{x}" y="{y}" width="14" height="10" fill="{c}"/>').format(
                x=_px(x + 5), y=_px(y - 5), c=colour
            )
        parts.append(
            _M('<g class="legend-item">{}<text x="{}" y="{}" font-size="12">{}</text></g>').format(
                mark, _px(x + 30), _px(y + 4), label
            )
        )
        x += width
    return _M('<g class="legend">{}</g>').format(_M("").join(parts)), y - top + LEGEND_ROW


def _marker(index: int, x: float, y: float, colour: str, label: str) -> Markup:
    """A point's marker; its shape follows the series, so lines differ without colour."""
    tip = _M("<title>{}</title>").format(label) if label else _M("")
    shape = MARKERS[index % len(MARKERS)]
    if shape == "square":
        return _M('<rect x="{}" y="{}" width="7" height="7" fill="{}">{}</rect>').format(
            _px(x - 3.5), _px(y - 3.5), colour, tip
        )
    if shape == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f}"
        return _M('<polygon points="{}" fill="{}">{}</polygon>').format(points, colour, tip)
    if shape == "diamond":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return _M('<polygon points="{}" fill="{}">{}</polygon>').format(points, colour, tip)
    return _M('<circle cx="{}" cy="{}" r="3.5" fill="{}">{}</circle>').format(
        _px(x), _px(y), colour, tip
    )


def _not_drawn(count: int) -> str:
    if not count:
        return ""
    return f" {count} value{'s are' if count > 1 else ' is'} not a finite number and not drawn."


def _message(ident: str, caption: Markup, text: str) -> Markup:
    return _M('<figure class="chart" id="{}">{}<p class="meta">{}</p></figure>').format(
        ident, caption, text
    )


# --- line chart ------------------------------------------------------------------------------


def line_chart(entry: Mapping[str, Any], ident: str) -> Markup:
    """A line per ``y_axis`` series against the first ``x_axis`` series."""
    key, title = _title(entry)
    caption = _caption(title, key, "line chart")
    xs, ys = _chart_series(entry)
    points: list[list[tuple[float, float]]] = []
    skipped = 0
    for series in ys:
        drawn = []
        for x_value, y_value in zip(xs.values, series.values, strict=True):
            x, y = number(x_value), number(y_value)
            if x is None or y is None:
                skipped += 1
            else:
                drawn.append((x, y))
        points.append(drawn)
    rows = [[x, *(s.values[i] for s in ys)] for i, x in enumerate(xs.values)]
    numbers = _numbers_table([xs.title, *(s.title for s in ys)], rows, f"{title}: the numbers")
    every = [p for drawn in points for p in drawn]
    if not every:
        text = "No points to draw." if not xs.values else "No point is a finite number."
        return _M('<figure class="chart" id="{}">{}<p class="meta">{}</p>{}</figure>').format(
            ident, caption, text, numbers
        )
    x_ticks = nice_ticks(min(p[0] for p in every), max(p[0] for p in every))
    y_ticks = nice_ticks(min(p[1] for p in every), max(p[1] for p in every))
    legend_top = HEIGHT + 4
    legend, legend_height = _legend([s.title for s in ys], legend_top, "line")
    height = HEIGHT + legend_height
    plot_bottom = HEIGHT - MARGIN_BOTTOM
    right = WIDTH - MARGIN_RIGHT
    x_scale = Scale(x_ticks[0], x_ticks[-1], MARGIN_LEFT, right)
    y_scale = Scale(y_ticks[0], y_ticks[-1], plot_bottom, MARGIN_TOP)
    x_axis = _M("").join(
        _M(
            '<line x1="{x}" x2="{x}" y1="{b}" y2="{b5}" stroke="#57606a"/>'
            '<text class="tick" x="{x}" y="{ty}" text-anchor="middle" font-size="11" '
            'fill="#57606a">{label}</text>'
        ).format(
            x=_px(x_scale(t)),
            b=_px(plot_bottom),
            b5=_px(plot_bottom + 5),
            ty=_px(plot_bottom + 18),
            label=fmt(t),
        )
        for t in x_ticks
    )
    lines = []
    for index, (series, drawn) in enumerate(zip(ys, points, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x_scale(x):.1f},{y_scale(y):.1f}" for x, y in drawn)
        markers = _M("")
        if len(drawn) <= MAX_MARKERS:
            markers = _M("").join(
                _marker(
                    index,
                    x_scale(x),
                    y_scale(y),
                    colour,
                    f"{series.title}: {fmt(y)} at {xs.title} {fmt(x)}",
                )
                for x, y in drawn
            )
        lines.append(
            _M(
                '<g class="series" data-series="{n}"><polyline points="{p}" fill="none" '
                'stroke="{c}" stroke-width="2" stroke-dasharray="{d}"/>{m}</g>'
            ).format(n=series.title, p=coords, c=colour, d=DASHES[index % len(DASHES)], m=markers)
        )
    names = ", ".join(s.title for s in ys)
    desc = (
        f"Line chart of {names} against {xs.title}: {len(xs.values)} points, {xs.title} from "
        f"{fmt(x_ticks[0])} to {fmt(x_ticks[-1])}, values from "
        f"{fmt(min(p[1] for p in every))} to {fmt(max(p[1] for p in every))}." + _not_drawn(skipped)
    )
    svg = _M('{}{}{}<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a"/>{}{}{}</svg>').format(
        _svg_open(ident, height, title, desc),
        _y_axis(y_scale, y_ticks, MARGIN_LEFT, right),
        x_axis,
        MARGIN_LEFT,
        right,
        _px(plot_bottom),
        _px(plot_bottom),
        _M("").join(lines),
        _axis_titles(xs.title, ys[0].title if len(ys) == 1 else "value", plot_bottom),
        legend,
    )
    note = _M('<p class="meta">{}</p>').format(_not_drawn(skipped).strip()) if skipped else ""
    return _M('<figure class="chart" id="{}">{}{}{}{}</figure>').format(
        ident, caption, svg, note, numbers
    )


# --- histogram -------------------------------------------------------------------------------


def histogram(entry: Mapping[str, Any], ident: str) -> Markup:
    """A bar per ``x_axis`` value (in order, as categories), a group of bars per series."""
    key, title = _title(entry)
    caption = _caption(title, key, "histogram")
    xs, ys = _chart_series(entry)
    rows = [[x, *(s.values[i] for s in ys)] for i, x in enumerate(xs.values)]
    numbers = _numbers_table([xs.title, *(s.title for s in ys)], rows, f"{title}: the numbers")
    values = [number(v) for s in ys for v in s.values]
    finite = [v for v in values if v is not None]
    skipped = len(values) - len(finite)
    if not finite:
        text = "No bars to draw." if not xs.values else "No value is a finite number."
        return _M('<figure class="chart" id="{}">{}<p class="meta">{}</p>{}</figure>').format(
            ident, caption, text, numbers
        )
    ticks = nice_ticks(min(0.0, *finite), max(0.0, *finite))
    legend, legend_height = _legend([s.title for s in ys], HEIGHT + 4, "bar")
    height = HEIGHT + legend_height
    plot_bottom = HEIGHT - MARGIN_BOTTOM
    right = WIDTH - MARGIN_RIGHT
    scale = Scale(ticks[0], ticks[-1], plot_bottom, MARGIN_TOP)
    zero = scale(0.0)
    slot = (right - MARGIN_LEFT) / len(xs.values)
    bar = max(1.0, slot * 0.8 / len(ys))
    labelled = len(xs.values) * len(ys) <= MAX_BAR_LABELS
    every_nth = max(1, math.ceil(len(xs.values) / 16))
    bars = []
    for i, x_value in enumerate(xs.values):
        left = MARGIN_LEFT + slot * i + slot * 0.1
        for j, series in enumerate(ys):
            value = number(series.values[i])
            if value is None:
                continue
            top, bottom = sorted((scale(value), zero))
            x = left + bar * j
            tip = f"{series.title}: {fmt(value)} at {xs.title} {_text(x_value)}"
            label = _M("")
            if labelled:
                label = _M(
                    '<text class="bar-value" x="{}" y="{}" text-anchor="middle" font-size="11" '
                    'fill="#1f2328">{}</text>'
                ).format(_px(x + bar / 2), _px(top - 4 if value >= 0 else bottom + 12), fmt(value))
            bars.append(
                _M(
                    '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}</title></rect>{}"
                ).format(
                    _px(x),
                    _px(top),
                    _px(bar),
                    _px(max(bottom - top, 0.5)),
                    PALETTE[j % len(PALETTE)],
                    tip,
                    label,
                )
            )
        if i % every_nth == 0:
            bars.append(
                _M(
                    '<text class="tick" x="{}" y="{}" text-anchor="middle" font-size="11" '
                    'fill="#57606a">{}</text>'
                ).format(
                    _px(MARGIN_LEFT + slot * (i + 0.5)),
                    _px(plot_bottom + 18),
                    _short(_text(x_value), 12),
                )
            )
    desc = (
        f"Histogram of {', '.join(s.title for s in ys)} over {len(xs.values)} values of "
        f"{xs.title}; values from {fmt(min(finite))} to {fmt(max(finite))}." + _not_drawn(skipped)
    )
    svg = _M('{}{}<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a"/>{}{}{}</svg>').format(
        _svg_open(ident, height, title, desc),
        _y_axis(scale, ticks, MARGIN_LEFT, right),
        MARGIN_LEFT,
        right,
        _px(zero),
        _px(zero),
        _M("").join(bars),
        _axis_titles(xs.title, ys[0].title if len(ys) == 1 else "value", plot_bottom),
        legend,
    )
    note = _M('<p class="meta">{}</p>').format(_not_drawn(skipped).strip()) if skipped else ""
    return _M('<figure class="chart" id="{}">{}{}{}{}</figure>').format(
        ident, caption, svg, note, numbers
    )


# --- tables ----------------------------------------------------------------------------------


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def heat(share: float) -> tuple[str, str]:
    """The background of a cell ``share`` (0..1) of the way from the lowest value to the
    highest, and the text colour (black or white) that reads best on it."""
    share = min(1.0, max(0.0, share))
    rgb = tuple(
        round(low + (high - low) * share) for low, high in zip(HEAT_LOW, HEAT_HIGH, strict=True)
    )
    r, g, b = rgb
    light = _luminance((r, g, b))
    black = (light + 0.05) / 0.05
    white = 1.05 / (light + 0.05)
    return f"#{r:02x}{g:02x}{b:02x}", "#000000" if black >= white else "#ffffff"


def heat_table(entry: Mapping[str, Any], ident: str) -> Markup:
    """A table (a confusion matrix, say): each numeric cell coloured by its value between the
    table's lowest and highest, its number written in it."""
    key, title = _title(entry)
    caption = _caption(title, key, "table")
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise Unusable("data must be an object")
    cells = data.get("cell_value")
    rows_label, cols_label = data.get("row_labels"), data.get("col_labels")
    if not isinstance(cells, list) or not all(isinstance(r, list) for r in cells):
        raise Unusable("cell_value must be a list of rows")
    if not isinstance(rows_label, Mapping) or not isinstance(cols_label, Mapping):
        raise Unusable("row_labels and col_labels must be objects")
    row_names = rows_label.get("value")
    col_names = cols_label.get("value")
    if not isinstance(row_names, list) or not isinstance(col_names, list):
        raise Unusable("row_labels and col_labels need a list of values")
    if len(row_names) != len(cells) or any(len(r) != len(col_names) for r in cells):
        raise Unusable("the cells do not match the row and column labels")
    if not cells or not col_names:
        return _message(ident, caption, "The table is empty.")
    finite = [v for row in cells for c in row if (v := number(c)) is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    row_title = _text(rows_label.get("title") or "")
    col_title = _text(cols_label.get("title") or "")
    corner = f"{row_title} \\ {col_title}" if row_title and col_title else row_title or col_title
    head = _M("").join(_M('<th scope="col">{}</th>').format(_text(c)) for c in col_names)
    body = []
    for name, row in zip(row_names, cells, strict=True):
        tds = []
        for cell in row:
            value = number(cell)
            if value is None:
                tds.append(_M('<td class="num text">{}</td>').format(fmt(cell)))
                continue
            share = (value - low) / (high - low) if high > low else 0.0
            background, colour = heat(share)
            tds.append(
                _M('<td class="num" style="background:{};color:{}">{}</td>').format(
                    background, colour, fmt(cell)
                )
            )
        body.append(_M('<tr><th scope="row">{}</th>{}</tr>').format(_text(name), _M("").join(tds)))
    scale = ""
    if finite:
        scale = _M(
            '<p class="meta">Darker cells hold larger values: from {} (lightest) to {} '
            "(darkest).</p>"
        ).format(fmt(low), fmt(high))
    dims = f"{len(cells)} rows by {len(col_names)} columns"
    return _M(
        '<figure class="chart" id="{i}">{cap}<div class="table-wrap fit"><table class="heat" '
        'aria-describedby="{i}-d"><caption class="sr-only">{t}</caption><thead><tr>'
        '<th scope="col">{corner}</th>{head}</tr></thead><tbody>{body}</tbody></table></div>'
        '<p class="sr-only" id="{i}-d">{t}: {dims}.</p>{scale}</figure>'
    ).format(
        i=ident,
        cap=caption,
        t=title,
        corner=corner,
        head=head,
        body=_M("").join(body),
        dims=dims,
        scale=scale,
    )


def row_table(entry: Mapping[str, Any], ident: str) -> Markup:
    """A one-dimensional table: its labels over its one row of values."""
    key, title = _title(entry)
    caption = _caption(title, key, "one-dimensional table")
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise Unusable("data must be an object")
    cells, labels = data.get("cell_value"), data.get("labels")
    if not isinstance(labels, list) or not isinstance(cells, list):
        raise Unusable("needs labels and cell_value")
    if len(cells) != 1 or not isinstance(cells[0], list) or len(cells[0]) != len(labels):
        raise Unusable("needs one row in cell_value with one cell per label")
    if not labels:
        return _message(ident, caption, "The table is empty.")
    head = _M("").join(_M('<th scope="col">{}</th>').format(_text(label)) for label in labels)
    row = _M("").join(_M('<td class="num">{}</td>').format(fmt(cell)) for cell in cells[0])
    return _M(
        '<figure class="chart" id="{}">{}<div class="table-wrap fit"><table class="row-table">'
        '<caption class="sr-only">{}</caption><thead><tr>{}</tr></thead><tbody><tr>{}</tr>'
        "</tbody></table></div></figure>"
    ).format(ident, caption, title, head, row)


# --- float values ----------------------------------------------------------------------------


def value_table(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> Markup:
    """The ``float`` entries (with the output each came from) as one table."""
    rows = []
    for output, entry in entries:
        key, title = _title(entry)
        data = entry.get("data")
        raw = data.get("value") if isinstance(data, Mapping) else None
        value = number(raw)
        shown = fmt(value) if value is not None else f"not a finite number ({fmt(raw)})"
        rows.append(
            _M(
                '<tr><th scope="row">{}</th><td class="mono">{}</td><td class="mono">{}</td>'
                '<td class="num">{}</td></tr>'
            ).format(title, key, output, shown)
        )
    if not rows:
        return _M("")
    return _M(
        '<div class="table-wrap fit"><table class="metric-values"><caption>Values</caption><thead>'
        '<tr><th scope="col">Metric</th><th scope="col">Key</th><th scope="col">Output</th>'
        '<th scope="col">Value</th></tr></thead><tbody>{}</tbody></table></div>'
    ).format(_M("").join(rows))


# --- everything ------------------------------------------------------------------------------

_DRAW = {
    "line chart": line_chart,
    "histogram": histogram,
    "table": heat_table,
    "one-dimensional-table": row_table,
}


def chart(entry: Any, ident: str) -> Markup:
    """One non-``float`` entry drawn; an entry that cannot be drawn says why instead."""
    if not isinstance(entry, Mapping):
        return _M('<p class="meta">A metric that is not an object cannot be drawn.</p>')
    kind = entry.get("type")
    key = _text(entry.get("key", ""))
    draw = _DRAW.get(kind) if isinstance(kind, str) else None
    if draw is None:
        return _M('<p class="meta">Metric {} has a type this page cannot draw ({}).</p>').format(
            repr(key), _text(kind)
        )
    try:
        return draw(entry, ident)
    except Unusable as exc:
        return _M('<p class="meta">Metric {} ({}) cannot be drawn: {}.</p>').format(
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
        return _M("")
    return _M('<div class="metrics">{}{}</div>').format(value_table(floats), _M("").join(figures))


__all__ = [
    "Unusable",
    "chart",
    "fmt",
    "heat",
    "heat_table",
    "histogram",
    "line_chart",
    "metrics_view",
    "nice_ticks",
    "row_table",
    "value_table",
]
