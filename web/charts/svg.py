"""Charts drawn as SVG: a line chart and a histogram, their axes, ticks and legends."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from web.charts.base import (
    DASHES,
    HEIGHT,
    LEGEND_ROW,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    MARKERS,
    MAX_BAR_LABELS,
    MAX_MARKERS,
    PALETTE,
    WIDTH,
    M,
    Scale,
    as_text,
    chart_series,
    figcaption,
    fmt,
    nice_ticks,
    not_drawn,
    number,
    numbers_table,
    px,
    short,
    title_of,
)


def _figure(ident: str, caption: Markup, svg: Markup, skipped: int, numbers: Markup) -> Markup:
    """A drawn chart: caption, picture, a note of the values left out, the numbers as text."""
    note = M('<p class="meta">{}</p>').format(not_drawn(skipped).strip()) if skipped else ""
    return M('<figure class="chart" id="{}">{}{}{}{}</figure>').format(
        ident, caption, svg, note, numbers
    )


def _svg_open(ident: str, height: float, title: str, desc: str) -> Markup:
    return M(
        '<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" role="img" aria-labelledby="{i}-t {i}-d">'
        '<title id="{i}-t">{t}</title><desc id="{i}-d">{d}</desc>'
    ).format(w=WIDTH, h=px(height), i=ident, t=title, d=desc)


def _y_axis(scale: Scale, ticks: list[float], left: float, right: float) -> Markup:
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            M(
                '<line class="grid" x1="{l}" x2="{r}" y1="{y}" y2="{y}" stroke="#d0d7de" '
                'stroke-width="1"/><text class="tick" x="{tx}" y="{ty}" text-anchor="end" '
                'font-size="11" fill="#57606a">{label}</text>'
            ).format(
                l=px(left),
                r=px(right),
                y=px(y),
                tx=px(left - 6),
                ty=px(y + 4),
                label=fmt(tick),
            )
        )
    return M("").join(parts)


def _axis_titles(x_title: str, y_title: str, plot_bottom: float) -> Markup:
    mid_x = (MARGIN_LEFT + WIDTH - MARGIN_RIGHT) / 2
    mid_y = (MARGIN_TOP + plot_bottom) / 2
    return M(
        '<text class="axis-title" x="{mx}" y="{xb}" text-anchor="middle" font-size="12" '
        'fill="#1f2328">{xt}</text>'
        '<text class="axis-title" x="14" y="{my}" text-anchor="middle" font-size="12" '
        'fill="#1f2328" transform="rotate(-90 14 {my})">{yt}</text>'
    ).format(
        mx=px(mid_x),
        xb=px(plot_bottom + 36),
        xt=short(x_title, 60),
        my=px(mid_y),
        yt=short(y_title, 40),
    )


def _legend(names: Sequence[str], top: float, swatch: str) -> tuple[Markup, float]:
    """One entry per series (its line style or bar colour and its name), wrapped in rows;
    the legend and its height."""
    if len(names) < 2:
        return M(""), 0.0
    parts = []
    x, y = float(MARGIN_LEFT), top
    for index, name in enumerate(names):
        label = short(name)
        width = 30 + 7 * len(label) + 16
        if x + width > WIDTH - MARGIN_RIGHT and x > MARGIN_LEFT:
            x, y = float(MARGIN_LEFT), y + LEGEND_ROW
        colour = PALETTE[index % len(PALETTE)]
        if swatch == "line":
            mark = M(
                '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2.5" '
                'stroke-dasharray="{d}"/>{m}'
            ).format(
                x1=px(x),
                x2=px(x + 24),
                y=px(y),
                c=colour,
                d=DASHES[index % len(DASHES)],
                m=_marker(index, x + 12, y, colour, ""),
            )
        else:
            mark = M('<rect x="{x}" y="{y}" width="14" height="10" fill="{c}"/>').format(
                x=px(x + 5), y=px(y - 5), c=colour
            )
        parts.append(
            M('<g class="legend-item">{}<text x="{}" y="{}" font-size="12">{}</text></g>').format(
                mark, px(x + 30), px(y + 4), label
            )
        )
        x += width
    return M('<g class="legend">{}</g>').format(M("").join(parts)), y - top + LEGEND_ROW


def _marker(index: int, x: float, y: float, colour: str, label: str) -> Markup:
    """A point's marker; its shape follows the series, so lines differ without colour."""
    tip = M("<title>{}</title>").format(label) if label else M("")
    shape = MARKERS[index % len(MARKERS)]
    if shape == "square":
        return M('<rect x="{}" y="{}" width="7" height="7" fill="{}">{}</rect>').format(
            px(x - 3.5), px(y - 3.5), colour, tip
        )
    if shape == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f}"
        return M('<polygon points="{}" fill="{}">{}</polygon>').format(points, colour, tip)
    if shape == "diamond":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return M('<polygon points="{}" fill="{}">{}</polygon>').format(points, colour, tip)
    return M('<circle cx="{}" cy="{}" r="3.5" fill="{}">{}</circle>').format(
        px(x), px(y), colour, tip
    )


# --- line chart ------------------------------------------------------------------------------


def line_chart(entry: Mapping[str, Any], ident: str) -> Markup:
    """A line per ``y_axis`` series against the first ``x_axis`` series."""
    key, title = title_of(entry)
    caption = figcaption(title, key, "line chart")
    xs, ys = chart_series(entry)
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
    numbers = numbers_table([xs.title, *(s.title for s in ys)], rows, f"{title}: the numbers")
    every = [p for drawn in points for p in drawn]
    if not every:
        text = "No points to draw." if not xs.values else "No point is a finite number."
        return M('<figure class="chart" id="{}">{}<p class="meta">{}</p>{}</figure>').format(
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
    x_axis = M("").join(
        M(
            '<line x1="{x}" x2="{x}" y1="{b}" y2="{b5}" stroke="#57606a"/>'
            '<text class="tick" x="{x}" y="{ty}" text-anchor="middle" font-size="11" '
            'fill="#57606a">{label}</text>'
        ).format(
            x=px(x_scale(t)),
            b=px(plot_bottom),
            b5=px(plot_bottom + 5),
            ty=px(plot_bottom + 18),
            label=fmt(t),
        )
        for t in x_ticks
    )
    lines = []
    for index, (series, drawn) in enumerate(zip(ys, points, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x_scale(x):.1f},{y_scale(y):.1f}" for x, y in drawn)
        markers = M("")
        if len(drawn) <= MAX_MARKERS:
            markers = M("").join(
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
            M(
                '<g class="series" data-series="{n}"><polyline points="{p}" fill="none" '
                'stroke="{c}" stroke-width="2" stroke-dasharray="{d}"/>{m}</g>'
            ).format(n=series.title, p=coords, c=colour, d=DASHES[index % len(DASHES)], m=markers)
        )
    names = ", ".join(s.title for s in ys)
    desc = (
        f"Line chart of {names} against {xs.title}: {len(xs.values)} points, {xs.title} from "
        f"{fmt(x_ticks[0])} to {fmt(x_ticks[-1])}, values from "
        f"{fmt(min(p[1] for p in every))} to {fmt(max(p[1] for p in every))}." + not_drawn(skipped)
    )
    svg = M('{}{}{}<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a"/>{}{}{}</svg>').format(
        _svg_open(ident, height, title, desc),
        _y_axis(y_scale, y_ticks, MARGIN_LEFT, right),
        x_axis,
        MARGIN_LEFT,
        right,
        px(plot_bottom),
        px(plot_bottom),
        M("").join(lines),
        _axis_titles(xs.title, ys[0].title if len(ys) == 1 else "value", plot_bottom),
        legend,
    )
    return _figure(ident, caption, svg, skipped, numbers)


# --- histogram -------------------------------------------------------------------------------


def histogram(entry: Mapping[str, Any], ident: str) -> Markup:
    """A bar per ``x_axis`` value (in order, as categories), a group of bars per series."""
    key, title = title_of(entry)
    caption = figcaption(title, key, "histogram")
    xs, ys = chart_series(entry)
    rows = [[x, *(s.values[i] for s in ys)] for i, x in enumerate(xs.values)]
    numbers = numbers_table([xs.title, *(s.title for s in ys)], rows, f"{title}: the numbers")
    values = [number(v) for s in ys for v in s.values]
    finite = [v for v in values if v is not None]
    skipped = len(values) - len(finite)
    if not finite:
        text = "No bars to draw." if not xs.values else "No value is a finite number."
        return M('<figure class="chart" id="{}">{}<p class="meta">{}</p>{}</figure>').format(
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
            tip = f"{series.title}: {fmt(value)} at {xs.title} {as_text(x_value)}"
            label = M("")
            if labelled:
                label = M(
                    '<text class="bar-value" x="{}" y="{}" text-anchor="middle" font-size="11" '
                    'fill="#1f2328">{}</text>'
                ).format(px(x + bar / 2), px(top - 4 if value >= 0 else bottom + 12), fmt(value))
            bars.append(
                M(
                    '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}</title></rect>{}"
                ).format(
                    px(x),
                    px(top),
                    px(bar),
                    px(max(bottom - top, 0.5)),
                    PALETTE[j % len(PALETTE)],
                    tip,
                    label,
                )
            )
        if i % every_nth == 0:
            bars.append(
                M(
                    '<text class="tick" x="{}" y="{}" text-anchor="middle" font-size="11" '
                    'fill="#57606a">{}</text>'
                ).format(
                    px(MARGIN_LEFT + slot * (i + 0.5)),
                    px(plot_bottom + 18),
                    short(as_text(x_value), 12),
                )
            )
    desc = (
        f"Histogram of {', '.join(s.title for s in ys)} over {len(xs.values)} values of "
        f"{xs.title}; values from {fmt(min(finite))} to {fmt(max(finite))}." + not_drawn(skipped)
    )
    svg = M('{}{}<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a"/>{}{}{}</svg>').format(
        _svg_open(ident, height, title, desc),
        _y_axis(scale, ticks, MARGIN_LEFT, right),
        MARGIN_LEFT,
        right,
        px(zero),
        px(zero),
        M("").join(bars),
        _axis_titles(xs.title, ys[0].title if len(ys) == 1 else "value", plot_bottom),
        legend,
    )
    return _figure(ident, caption, svg, skipped, numbers)
