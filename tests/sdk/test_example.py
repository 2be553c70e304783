"""The digits example stays runnable, and ``sdk.metrics`` accepts what it writes."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sdk import metrics

ALGORITHMS = Path(__file__).resolve().parents[2] / "sdk" / "examples" / "digits" / "algorithms"


def run(script: str, **arguments: Any) -> subprocess.CompletedProcess[str]:
    """Start an algorithm as the runner does: ``--<input>=<dir> --<param>=<v> --<output>=<dir>``."""
    command = [sys.executable, str(ALGORITHMS / script)]
    command += [f"--{name}={value}" for name, value in arguments.items()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("digits") / "data"
    done = run("prepare.py", test_size=0.25, data=data)
    assert "train: 1347 samples, test: 450 samples" in done.stdout
    return data


def test_prepare_writes_train_and_test_arrays(prepared: Path) -> None:
    assert sorted(p.name for p in prepared.iterdir()) == ["test.npz", "train.npz"]


@pytest.mark.parametrize(("model_type", "bar"), [("svm", 0.9), ("logreg", 0.9)])
def test_train_writes_a_model_and_valid_metrics(
    prepared: Path, tmp_path: Path, model_type: str, bar: float
) -> None:
    model, measured = tmp_path / "model", tmp_path / "metrics"
    done = run(
        "train.py", data=prepared, model_type=model_type, c=1.0, model=model, metrics=measured
    )
    assert f"{model_type} C=1.0: accuracy" in done.stdout
    with (model / "model.pkl").open("rb") as handle:
        classifier = pickle.load(handle)
    assert hasattr(classifier, "predict")
    entries = metrics.parse((measured / "metrics.json").read_bytes())
    assert [e["key"] for e in entries] == ["accuracy", "learning_curve", "confusion"]
    assert [e["type"] for e in entries] == ["float", "line chart", "table"]
    accuracy = metrics.float_metric(entries, "accuracy")
    assert accuracy > bar
    confusion = entries[2]["data"]["cell_value"]
    assert sum(map(sum, confusion)) == 450


def test_train_refuses_an_unknown_model_type(prepared: Path, tmp_path: Path) -> None:
    command = [sys.executable, str(ALGORITHMS / "train.py"), f"--data={prepared}"]
    command += ["--model_type=tree", f"--model={tmp_path}/m", f"--metrics={tmp_path}/x"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "unknown --model_type 'tree'" in done.stderr


def test_export_copies_the_model_with_a_card(prepared: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    run("train.py", data=prepared, model_type="svm", c=1.0, model=model, metrics=tmp_path / "m")
    release = tmp_path / "release"
    run("export.py", model=model, release=release)
    assert (release / "model.pkl").read_bytes() == (model / "model.pkl").read_bytes()
    card = json.loads((release / "card.json").read_text())
    assert card == {"name": "digits-classifier", "framework": "scikit-learn"}


def test_report_writes_a_note(tmp_path: Path) -> None:
    run("report.py", min_accuracy=0.99, report=tmp_path / "report")
    assert "0.99" in (tmp_path / "report" / "report.txt").read_text()


# --- sdk.metrics ----------------------------------------------------------------------------


def entry(kind: str, data: Any, key: str = "m") -> dict[str, Any]:
    return {"key": key, "title": key.upper(), "type": kind, "data": data}


SERIES = {
    "x_axis": [{"title": "epoch", "value": [1, 2, 3]}],
    "y_axis": [{"value": [0.9, 0.7, 0.6]}],
}
TABLE = {
    "cell_value": [[5, 1], [0, 7]],
    "col_labels": {"title": "labels", "value": ["cat", "dog"]},
    "row_labels": {"title": "predictions", "value": ["cat", "dog"]},
}
ONE_ROW = {"cell_value": [[100, 3, 0.25]], "labels": ["samples", "max_ms", "p99"]}

VALID = {
    "float": entry("float", {"value": 0.91}),
    "float int": entry("float", {"value": 1}),
    "line chart": entry("line chart", SERIES),
    "histogram": entry("histogram", SERIES),
    "table": entry("table", TABLE),
    "one-dimensional-table": entry("one-dimensional-table", ONE_ROW),
}


@pytest.mark.parametrize("case", sorted(VALID))
def test_valid_entries_are_accepted(case: str) -> None:
    raw = json.dumps([VALID[case]]).encode()
    assert metrics.parse(raw) == [VALID[case]]


def test_a_file_with_every_type_is_accepted() -> None:
    entries = [
        entry("float", {"value": 0.5}, "acc"),
        entry("line chart", SERIES, "loss"),
        entry("histogram", SERIES, "hist"),
        entry("table", TABLE, "cm"),
        entry("one-dimensional-table", ONE_ROW, "eval"),
    ]
    assert len(metrics.parse(json.dumps(entries).encode())) == 5
    assert metrics.parse(b"[]") == []


BROKEN: dict[str, tuple[Any, str]] = {
    "float without value": (entry("float", {}, "acc"), "'acc'"),
    "float as text": (entry("float", {"value": "0.9"}, "acc"), "data.value"),
    "float bool": (entry("float", {"value": True}, "acc"), "'acc'"),
    "unknown type": (entry("pie", {}, "share"), "'pie'"),
    "data not an object": (entry("float", [0.9], "acc"), "data must be an object"),
    "missing title": ({"key": "acc", "type": "float", "data": {"value": 1}}, "missing title"),
    "empty key": (entry("float", {"value": 1}, ""), "key must be a non-empty string"),
    "entry not an object": ("acc", "must be an object"),
    "chart without x_axis": (entry("line chart", {"y_axis": SERIES["y_axis"]}, "loss"), "x_axis"),
    "chart with text values": (
        entry(
            "line chart",
            {"x_axis": [{"value": ["a"]}], "y_axis": [{"value": [1]}]},
            "loss",
        ),
        "x_axis[0].value",
    ),
    "chart lengths differ": (
        entry("histogram", {"x_axis": [{"value": [1, 2]}], "y_axis": [{"value": [1]}]}, "hist"),
        "x_axis has 2 points but y_axis has 1",
    ),
    "table row count": (
        entry("table", {**TABLE, "cell_value": [[5, 1]]}, "cm"),
        "one row per row label",
    ),
    "table column count": (
        entry("table", {**TABLE, "cell_value": [[5, 1], [0]]}, "cm"),
        "row 1 needs one cell per column label",
    ),
    "table without labels": (
        entry("table", {"cell_value": [[1]], "row_labels": ["a"]}, "cm"),
        "row_labels",
    ),
    "one-dimensional two rows": (
        entry("one-dimensional-table", {**ONE_ROW, "cell_value": [[1, 2, 3], [4, 5, 6]]}, "ev"),
        "exactly one row",
    ),
    "one-dimensional short row": (
        entry("one-dimensional-table", {**ONE_ROW, "cell_value": [[1, 2]]}, "ev"),
        "one cell per label",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_entries_are_refused_naming_the_entry(case: str) -> None:
    bad, fragment = BROKEN[case]
    good = entry("float", {"value": 0.5}, "fine")
    with pytest.raises(metrics.MetricsError) as caught:
        metrics.parse(json.dumps([good, bad]).encode())
    message = str(caught.value)
    assert message.startswith("entry 1"), message
    assert fragment in message, message


def test_duplicate_keys_are_refused() -> None:
    raw = json.dumps([entry("float", {"value": 1}, "acc")] * 2).encode()
    with pytest.raises(metrics.MetricsError, match="entry 1: key 'acc' appears twice"):
        metrics.parse(raw)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"key": "acc"}', "JSON list"),
        (b"[" + b" " * metrics.MAX_BYTES + b"]", "the limit is"),
        (b'[{"key": "a", "title": "a", "type": "float", "data": {"value": NaN}}]', "finite"),
    ],
)
def test_broken_files_are_refused(raw: bytes, fragment: str) -> None:
    with pytest.raises(metrics.MetricsError, match=fragment):
        metrics.parse(raw)


def test_float_metric_reads_float_entries_only() -> None:
    entries = metrics.parse(
        json.dumps([entry("float", {"value": 0.75}, "acc"), entry("table", TABLE, "cm")]).encode()
    )
    assert metrics.float_metric(entries, "acc") == 0.75
    with pytest.raises(metrics.MetricsError, match="'cm' is a 'table', not a float"):
        metrics.float_metric(entries, "cm")
    with pytest.raises(metrics.MetricsError, match=r"no metric 'f1' \(found: acc, cm\)"):
        metrics.float_metric(entries, "f1")
