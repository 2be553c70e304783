"""Train a digits classifier; write the model and a metrics.json the gallery can chart."""

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def build(model_type: str, c: float):  # type: ignore[no-untyped-def]
    if model_type == "svm":
        return make_pipeline(StandardScaler(), SVC(C=c, gamma="scale"))
    if model_type == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    raise SystemExit(f"unknown --model_type {model_type!r} (svm or logreg)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="directory with train.npz and test.npz")
    parser.add_argument("--model_type", default="svm")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--model", required=True, help="output directory for model.pkl")
    parser.add_argument("--metrics", required=True, help="output directory for metrics.json")
    args = parser.parse_args()

    data = Path(args.data)
    train, test = np.load(data / "train.npz"), np.load(data / "test.npz")
    model = build(args.model_type, args.c)
    sizes, accuracies = [], []
    for fraction in (0.25, 0.5, 0.75, 1.0):  # a learning curve for the line chart
        n = max(20, int(len(train["y"]) * fraction))
        model.fit(train["x"][:n], train["y"][:n])
        sizes.append(n)
        accuracies.append(round(float(accuracy_score(test["y"], model.predict(test["x"]))), 4))
    predicted = model.predict(test["x"])
    accuracy = accuracies[-1]
    labels = [str(i) for i in range(10)]
    metrics = [
        {"key": "accuracy", "title": "Test accuracy", "type": "float", "data": {"value": accuracy}},
        {
            "key": "learning_curve",
            "title": "Accuracy by training-set size",
            "type": "line chart",
            "data": {
                "x_axis": [{"title": "training samples", "value": sizes}],
                "y_axis": [{"title": "accuracy", "value": accuracies}],
            },
        },
        {
            "key": "confusion",
            "title": "Confusion matrix",
            "type": "table",
            "data": {
                "cell_value": confusion_matrix(test["y"], predicted).tolist(),
                "col_labels": {"title": "predicted", "value": labels},
                "row_labels": {"title": "actual", "value": labels},
            },
        },
    ]
    Path(args.model).mkdir(parents=True, exist_ok=True)
    with open(Path(args.model) / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    Path(args.metrics).mkdir(parents=True, exist_ok=True)
    (Path(args.metrics) / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"{args.model_type} C={args.c}: accuracy {accuracy}")


if __name__ == "__main__":
    main()
