"""The ``metrics.json`` a job writes: a list of typed entries, checked before it is stored.

Entry types: ``float`` (``data.value``), ``line chart`` and ``histogram`` (``data.x_axis`` and
``data.y_axis``: lists of ``{title, value: [numbers]}``), ``table`` (``cell_value`` rows with
``row_labels`` / ``col_labels``) and ``one-dimensional-table`` (one row, flat ``labels``).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_BYTES = 1024 * 1024
TYPES = ("float", "line chart", "histogram", "table", "one-dimensional-table")


class MetricsError(ValueError):
    """The metrics file breaks a rule; the message says which entry and why."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _axis(where: str, axis: Any) -> int:
    if not isinstance(axis, list) or not axis:
        raise MetricsError(f"{where}: must be a non-empty list of {{title, value}} series")
    lengths = set()
    for index, series in enumerate(axis):
        if not isinstance(series, dict) or not isinstance(series.get("value"), list):
            raise MetricsError(f"{where}[{index}]: needs a 'value' list")
        if not all(_number(v) for v in series["value"]):
            raise MetricsError(f"{where}[{index}].value: must hold finite numbers")
        lengths.add(len(series["value"]))
    if len(lengths) != 1:
        raise MetricsError(f"{where}: series have different lengths")
    return lengths.pop()


def _labels(where: str, labels: Any) -> list[Any]:
    values = labels.get("value") if isinstance(labels, dict) else None
    if not isinstance(values, list):
        raise MetricsError(f"{where}: needs {{title, value: [labels]}}")
    return values


def validate_entry(index: int, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise MetricsError(f"entry {index}: must be an object")
    missing = [k for k in ("key", "title", "type", "data") if k not in entry]
    if missing:
        raise MetricsError(f"entry {index}: missing {', '.join(missing)}")
    key, kind, data = entry["key"], entry["type"], entry["data"]
    where = f"entry {index} ({key!r})"
    if not isinstance(key, str) or not key:
        raise MetricsError(f"entry {index}: key must be a non-empty string")
    if kind not in TYPES:
        raise MetricsError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
    if not isinstance(data, dict):
        raise MetricsError(f"{where}: data must be an object")
    if kind == "float":
        if not _number(data.get("value")):
            raise MetricsError(f"{where}: data.value must be a finite number")
    elif kind in ("line chart", "histogram"):
        x = _axis(f"{where} data.x_axis", data.get("x_axis"))
        y = _axis(f"{where} data.y_axis", data.get("y_axis"))
        if x != y:
            raise MetricsError(f"{where}: x_axis has {x} points but y_axis has {y}")
    elif kind == "table":
        rows = data.get("cell_value")
        row_labels = _labels(f"{where} data.row_labels", data.get("row_labels"))
        col_labels = _labels(f"{where} data.col_labels", data.get("col_labels"))
        if not isinstance(rows, list) or len(rows) != len(row_labels):
            raise MetricsError(f"{where}: cell_value needs one row per row label")
        for r, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(col_labels):
                raise MetricsError(f"{where}: row {r} needs one cell per column label")
    else:
        rows = data.get("cell_value")
        labels = data.get("labels")
        if not isinstance(labels, list) or not isinstance(rows, list) or len(rows) != 1:
            raise MetricsError(f"{where}: needs labels and exactly one row in cell_value")
        if not isinstance(rows[0], list) or len(rows[0]) != len(labels):
            raise MetricsError(f"{where}: the row needs one cell per label")


def parse(raw: bytes) -> list[dict[str, Any]]:
    """Decode and validate a metrics file; raises MetricsError naming the problem."""
    if len(raw) > MAX_BYTES:
        raise MetricsError(f"metrics file is {len(raw)} bytes; the limit is {MAX_BYTES}")
    try:
        entries = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetricsError(f"metrics file is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise MetricsError("metrics file must hold a JSON list of entries")
    keys: set[str] = set()
    for index, entry in enumerate(entries):
        validate_entry(index, entry)
        if entry["key"] in keys:
            raise MetricsError(f"entry {index}: key {entry['key']!r} appears twice")
        keys.add(entry["key"])
    return entries


def float_metric(entries: list[dict[str, Any]], key: str) -> float:
    """The value of a ``float`` entry, for conditions (``MetricInfo``)."""
    for entry in entries:
        if entry["key"] == key:
            if entry["type"] != "float":
                raise MetricsError(f"metric {key!r} is a {entry['type']!r}, not a float")
            return float(entry["data"]["value"])
    raise MetricsError(f"no metric {key!r} (found: {', '.join(e['key'] for e in entries)})")
