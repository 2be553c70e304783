"""Split scikit-learn's digits data set into train and test arrays (``--data``: output dir)."""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test_size", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", required=True, help="output directory")
    args = parser.parse_args()
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data,
        digits.target,
        test_size=args.test_size,
        random_state=args.seed,
        stratify=digits.target,
    )
    out = Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "train.npz", x=x_train, y=y_train)
    np.savez_compressed(out / "test.npz", x=x_test, y=y_test)
    print(f"train: {len(y_train)} samples, test: {len(y_test)} samples")


if __name__ == "__main__":
    main()
