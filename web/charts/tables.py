"""Charts drawn as HTML tables: a heat-coloured table (a confusion matrix), a one-row
table, and the ``float`` values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from web.charts.base import (
    HEAT_HIGH,
    HEAT_LOW,
    M,
    Unusable,
    as_text,
    figcaption,
    fmt,
    message,
    number,
    title_of,
)


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
    key, title = title_of(entry)
    caption = figcaption(title, key, "table")
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
        return message(ident, caption, "The table is empty.")
    finite = [v for row in cells for c in row if (v := number(c)) is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    row_title = as_text(rows_label.get("title") or "")
    col_title = as_text(cols_label.get("title") or "")
    corner = f"{row_title} \\ {col_title}" if row_title and col_title else row_title or col_title
    head = M("").join(M('<th scope="col">{}</th>').format(as_text(c)) for c in col_names)
    body = []
    for name, row in zip(row_names, cells, strict=True):
        tds = []
        for cell in row:
            value = number(cell)
            if value is None:
                tds.append(M('<td class="num text">{}</td>').format(fmt(cell)))
                continue
            share = (value - low) / (high - low) if high > low else 0.0
            background, colour = heat(share)
            tds.append(
                M('<td class="num" style="background:{};color:{}">{}</td>').format(
                    background, colour, fmt(cell)
                )
            )
        body.append(M('<tr><th scope="row">{}</th>{}</tr>').format(as_text(name), M("").join(tds)))
    scale = ""
    if finite:
        scale = M(
            '<p class="meta">Darker cells hold larger values: from {} (lightest) to {} '
            "(darkest).</p>"
        ).format(fmt(low), fmt(high))
    dims = f"{len(cells)} rows by {len(col_names)} columns"
    return M(
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
        body=M("").join(body),
        dims=dims,
        scale=scale,
    )


def row_table(entry: Mapping[str, Any], ident: str) -> Markup:
    """A one-dimensional table: its labels over its one row of values."""
    key, title = title_of(entry)
    caption = figcaption(title, key, "one-dimensional table")
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise Unusable("data must be an object")
    cells, labels = data.get("cell_value"), data.get("labels")
    if not isinstance(labels, list) or not isinstance(cells, list):
        raise Unusable("needs labels and cell_value")
    if len(cells) != 1 or not isinstance(cells[0], list) or len(cells[0]) != len(labels):
        raise Unusable("needs one row in cell_value with one cell per label")
    if not labels:
        return message(ident, caption, "The table is empty.")
    head = M("").join(M('<th scope="col">{}</th>').format(as_text(label)) for label in labels)
    row = M("").join(M('<td class="num">{}</td>').format(fmt(cell)) for cell in cells[0])
    return M(
        '<figure class="chart" id="{}">{}<div class="table-wrap fit"><table class="row-table">'
        '<caption class="sr-only">{}</caption><thead><tr>{}</tr></thead><tbody><tr>{}</tr>'
        "</tbody></table></div></figure>"
    ).format(ident, caption, title, head, row)


# --- float values ----------------------------------------------------------------------------


def value_table(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> Markup:
    """The ``float`` entries (with the output each came from) as one table."""
    rows = []
    for output, entry in entries:
        key, title = title_of(entry)
        data = entry.get("data")
        raw = data.get("value") if isinstance(data, Mapping) else None
        value = number(raw)
        shown = fmt(value) if value is not None else f"not a finite number ({fmt(raw)})"
        rows.append(
            M(
                '<tr><th scope="row">{}</th><td class="mono">{}</td><td class="mono">{}</td>'
                '<td class="num">{}</td></tr>'
            ).format(title, key, output, shown)
        )
    if not rows:
        return M("")
    return M(
        '<div class="table-wrap fit"><table class="metric-values"><caption>Values</caption><thead>'
        '<tr><th scope="col">Metric</th><th scope="col">Key</th><th scope="col">Output</th>'
        '<th scope="col">Value</th></tr></thead><tbody>{}</tbody></table></div>'
    ).format(M("").join(rows))
