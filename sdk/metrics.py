"""The ``metrics.json`` a job writes: a list of typed entries, checked before it is stored (a
pydantic union told apart by ``type``; the entries are stored as written).

Entry types: ``float`` (``data.value``), ``line chart`` and ``histogram`` (``data.x_axis`` and
``data.y_axis``: lists of ``{title, value: [numbers]}``), ``table`` (``cell_value`` rows with
``row_labels`` / ``col_labels``) and ``one-dimensional-table`` (one row, flat ``labels``).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MAX_BYTES = 1024 * 1024
TYPES = ("float", "line chart", "histogram", "table", "one-dimensional-table")


class MetricsError(ValueError):
    """The metrics file breaks a rule; the message says which entry and why."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[float, PlainValidator(_number)]
"""A JSON number that is finite (a boolean is not a number here)."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Series(_Part):
    title: str = ""
    value: list[Number]


Axis = Annotated[list[Series], Field(min_length=1)]


class Labels(_Part):
    title: str = ""
    value: list[Any]


class FloatData(_Part):
    value: Number


class ChartData(_Part):
    x_axis: Axis
    y_axis: Axis

    @model_validator(mode="after")
    def _points(self) -> ChartData:
        x, y = _points("x_axis", self.x_axis), _points("y_axis", self.y_axis)
        if x != y:
            raise ValueError(f"x_axis has {x} points but y_axis has {y}")
        return self


def _points(name: str, axis: list[Series]) -> int:
    lengths = {len(series.value) for series in axis}
    if len(lengths) != 1:
        raise ValueError(f"{name}: series have different lengths")
    return lengths.pop()


class TableData(_Part):
    cell_value: list[list[Any]]
    row_labels: Labels
    col_labels: Labels

    @model_validator(mode="after")
    def _shape(self) -> TableData:
        if len(self.cell_value) != len(self.row_labels.value):
            raise ValueError("cell_value needs one row per row label")
        for r, row in enumerate(self.cell_value):
            if len(row) != len(self.col_labels.value):
                raise ValueError(f"row {r} needs one cell per column label")
        return self


class RowData(_Part):
    cell_value: list[list[Any]]
    labels: list[Any]

    @model_validator(mode="after")
    def _shape(self) -> RowData:
        if len(self.cell_value) != 1:
            raise ValueError("needs labels and exactly one row in cell_value")
        if len(self.cell_value[0]) != len(self.labels):
            raise ValueError("the row needs one cell per label")
        return self


class _Entry(_Part):
    key: Annotated[StrictStr, Field(min_length=1)]
    title: str


class FloatEntry(_Entry):
    type: Literal["float"]
    data: FloatData


class ChartEntry(_Entry):
    type: Literal["line chart", "histogram"]
    data: ChartData


class TableEntry(_Entry):
    type: Literal["table"]
    data: TableData


class RowEntry(_Entry):
    type: Literal["one-dimensional-table"]
    data: RowData


Entry = Annotated[FloatEntry | ChartEntry | TableEntry | RowEntry, Field(discriminator="type")]
"""One ``metrics.json`` entry, told apart by its ``type``."""
_ENTRY: TypeAdapter[Entry] = TypeAdapter(Entry)


def validate_entry(index: int, entry: Any) -> None:
    """Check one entry; MetricsError names it (``entry N ('key')``), the field and the rule."""
    if not isinstance(entry, dict):
        raise MetricsError(f"entry {index}: must be an object")
    key = entry.get("key")
    where = f"entry {index} ({key!r})" if isinstance(key, str) and key else f"entry {index}"
    try:
        _ENTRY.validate_python(entry)
    except ValidationError as exc:
        raise MetricsError(f"{where}: {_why(exc.errors()[0])}") from None


def _why(error: Any) -> str:
    """One pydantic error as a sentence naming the field (``data.x_axis[0].value``)."""
    loc = error["loc"][1:] if error["loc"][:1] and error["loc"][0] in TYPES else error["loc"]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"type {error['input']['type']!r} is not one of {', '.join(TYPES)}"
    if kind == "union_tag_not_found":
        return "missing type"
    if kind == "missing":
        return f"missing {path}"
    if path == "key":
        return "key must be a non-empty string"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{path} must be an object"
    if kind == "value_error":
        message = str(error["ctx"]["error"])
        return f"{path}: {message}" if path and path != "data" else message
    return f"{path}: {error['msg'].lower()}" if path else error["msg"]


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
