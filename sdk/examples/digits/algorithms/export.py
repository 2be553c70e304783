"""Export an accepted model: copy it with a small model card (``--release``: output dir)."""

import argparse
import json
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="directory with model.pkl")
    parser.add_argument("--release", required=True, help="output directory")
    parser.add_argument("--name", default="digits-classifier")
    args = parser.parse_args()
    out = Path(args.release)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(args.model) / "model.pkl", out / "model.pkl")
    (out / "card.json").write_text(json.dumps({"name": args.name, "framework": "scikit-learn"}))
    print(f"exported {args.name}")


if __name__ == "__main__":
    main()
