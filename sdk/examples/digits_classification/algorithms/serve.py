"""The model's service code (copied next to model.pkl as predict.py): each input is 64
numbers, an 8x8 digit image with values 0..16 (scikit-learn's digits); the output its digit."""

import pickle
from pathlib import Path
from typing import Any

MODEL: Any = None


def load(model_dir: str) -> None:
    global MODEL
    MODEL = pickle.loads(Path(model_dir, "model.pkl").read_bytes())


def predict(inputs: list[list[float]]) -> list[str]:
    if any(not isinstance(row, list) or len(row) != 64 for row in inputs):
        raise ValueError("each input is a list of 64 numbers (an 8x8 image, values 0..16)")
    return [str(label) for label in MODEL.predict(inputs)]
