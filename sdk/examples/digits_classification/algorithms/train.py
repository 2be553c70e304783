"""Train a digits classifier on a dataset version (files + manifest.json): the model (a
pickled scikit-learn pipeline and predict.py, ready to serve) and its accuracy."""

import argparse
import json
import pickle
import shutil
from pathlib import Path

from digits_png import read_png
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

SCALE = 4


def features(path: Path) -> list[float]:
    """Back to the 8x8, 0..16 values the model (and its service) takes."""
    rows = read_png(path)
    return [rows[r * SCALE][c * SCALE] * 16 / 255 for r in range(8) for c in range(8)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="the dataset version")
    parser.add_argument("--c", type=float, default=5.0)
    parser.add_argument("--model", required=True)
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()

    data = Path(args.data)
    manifest = json.loads((data / "manifest.json").read_text())
    sets: dict[str, tuple[list[list[float]], list[str]]] = {"train": ([], []), "eval": ([], [])}
    for sample in manifest["samples"]:
        if sample["label"] is None:
            continue
        x, y = sets["eval" if sample["split"] == "eval" else "train"]
        x.append(features(data / sample["path"]))
        y.append(sample["label"])
    model = make_pipeline(StandardScaler(), SVC(C=args.c, gamma="scale"))
    model.fit(*sets["train"])
    x_eval, y_eval = sets["eval"] if sets["eval"][0] else sets["train"]
    accuracy = float(sum(p == t for p, t in zip(model.predict(x_eval), y_eval, strict=True)))
    accuracy /= len(y_eval)
    print(f"trained on {len(sets['train'][1])} samples, accuracy {accuracy:.3f}", flush=True)

    out = Path(args.model)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.pkl").write_bytes(pickle.dumps(model))
    shutil.copy(Path(__file__).with_name("serve.py"), out / "predict.py")
    Path(args.metrics).mkdir(parents=True, exist_ok=True)
    Path(args.metrics, "metrics.json").write_text(
        json.dumps(
            [{"key": "accuracy", "title": "Accuracy", "type": "float", "data": {"value": accuracy}}]
        )
    )


if __name__ == "__main__":
    main()
