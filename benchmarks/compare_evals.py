"""Is variant B better than A? A paired bootstrap over the questions of two ``memviz eval ... --json`` results.

    .venv/bin/python benchmarks/compare_evals.py A.json B.json [B2.json ...] [--metrics recall@5 recall@10 recall@50]

Both runs must hold the same questions (the same file, preset and limit). For each metric it prints A's and B's
means over the questions ``overall`` averages (LoCoMo: categories 1-4; LongMemEval: every evaluated question),
the difference B - A, and its 95% interval from 10,000 bootstrap resamples of the questions (paired: one
resample draws the same questions for both runs; Efron and Tibshirani, "An Introduction to the Bootstrap",
1993, ch. 16). A difference whose interval contains 0 is noise at this sample size, not a result. The
recall itself is deterministic (exact search, a fixed model on the CPU), so the noise that matters is which
questions happen to be in the set, which is what the bootstrap resamples.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ADVERSARIAL = "5"


def per_question(result: dict, metric: str) -> dict[str, float]:
    """{question id: value of ``metric``} over the questions ``overall`` averages."""
    apart = {ADVERSARIAL} if result.get("benchmark") == "locomo" else set()
    return {
        q["id"]: float(q["metrics"][metric])
        for q in result["questions"]
        if q["status"] == "evaluated" and q["category"] not in apart
    }


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """(mean of b - a, 2.5th percentile, 97.5th percentile) of the mean difference over ``n`` resamples."""
    diff = b - a
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--metrics", nargs="+", default=["recall@5", "recall@10", "recall@50"])
    args = ap.parse_args()
    base = json.loads(Path(args.base).read_text())
    print(f"| variant | {' | '.join(args.metrics)} |")
    print(f"|---|{'---|' * len(args.metrics)}")
    cells = [f"{np.mean(list(per_question(base, m).values())):.3f}" for m in args.metrics]
    print(f"| {Path(args.base).stem} (base) | {' | '.join(cells)} |")
    for path in args.variants:
        other = json.loads(Path(path).read_text())
        cells = []
        for m in args.metrics:
            qa, qb = per_question(base, m), per_question(other, m)
            if set(qa) != set(qb):
                raise SystemExit(f"{path}: not the same questions as {args.base}")
            ids = sorted(qa)
            a, b = np.array([qa[i] for i in ids]), np.array([qb[i] for i in ids])
            d, lo, hi = paired_bootstrap(a, b)
            mark = "" if lo <= 0 <= hi else " *"
            cells.append(f"{b.mean():.3f} ({d:+.3f} [{lo:+.3f}, {hi:+.3f}]{mark})")
        print(f"| {Path(path).stem} | {' | '.join(cells)} |")
    print("\n(B - A [95% paired bootstrap interval]; * the interval excludes 0)")


if __name__ == "__main__":
    main()
