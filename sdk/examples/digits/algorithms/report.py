"""Write a short note when the model missed the accuracy bar (``--report``: output dir)."""

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min_accuracy", type=float, required=True)
    parser.add_argument("--report", required=True, help="output directory")
    args = parser.parse_args()
    out = Path(args.report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.txt").write_text(
        f"The model stayed below the accuracy bar of {args.min_accuracy}; try another C.\n"
    )
    print("accuracy below the bar: report written")


if __name__ == "__main__":
    main()
