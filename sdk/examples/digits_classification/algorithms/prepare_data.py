"""Write scikit-learn's bundled handwritten digits as small PNG images, with their labels in
annotations.csv (``path,label``) except for a few left for people to label."""

import argparse
import random
from pathlib import Path

from digits_png import write_png
from sklearn.datasets import load_digits

SCALE = 4  # 8x8 pixels shown as 32x32


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--unlabelled", type=int, default=6)
    parser.add_argument("--data", required=True, help="output directory")
    args = parser.parse_args()

    digits = load_digits()
    chosen = random.Random(7).sample(range(len(digits.target)), min(args.samples, 1797))
    out = Path(args.data)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = ["path,label"]
    for n, index in enumerate(chosen):
        pixels = digits.images[index]  # 8x8, values 0..16
        image = [
            [int(pixels[r // SCALE][c // SCALE] * 255 / 16) for c in range(8 * SCALE)]
            for r in range(8 * SCALE)
        ]
        name = f"images/{n:04d}.png"
        write_png(out / name, image)
        if n >= args.unlabelled:
            rows.append(f"{name},{digits.target[index]}")
    (out / "annotations.csv").write_text("\n".join(rows) + "\n")
    print(f"wrote {len(chosen)} images, {len(chosen) - args.unlabelled} labelled", flush=True)


if __name__ == "__main__":
    main()
