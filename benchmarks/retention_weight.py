"""Recall@10 on replayed LoCoMo stores at several retention weights, against no decay (pure reads).

    memviz replay ../shared/data/locomo/locomo_dev.json --format locomo --db DB --questions
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/retention_weight.py DB [--weights 0.1,0.05,0.03,0.02,0.01]

Each evaluated question (categories 1-4, with evidence) is asked as of its conversation's end, at k = 10, with
the default recall config at each retention weight and without decay (:meth:`RecallConfig.without_decay`).
Prints per conversation the mean recall@10 per weight, then the gap to no decay over all questions with a 95%
bootstrap interval (2,000 resamples of questions). Nothing is written to the stores.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--weights", default="0.1,0.05,0.03,0.02,0.01")
    args = ap.parse_args()

    from memviz.embed import MiniLMEmbedder
    from memviz.evaluate.common import group_engine
    from memviz.importers import load
    from memviz.paths import LOCOMO_DEV
    from memviz.recall.config import RecallConfig

    weights = [float(w) for w in args.weights.split(",")]
    data = load(LOCOMO_DEV, "locomo")
    emb = MiniLMEmbedder()
    scores: dict[str, list[float]] = {}
    for g, items in data.groups.items():
        engine = group_engine(args.db, g, emb)
        end_s = max(m.event_time_s for m in items if m.event_time_s is not None)
        qs = [q for q in data.questions if q.group == g and q.evidence_ids and q.category != "5"]
        base = RecallConfig(k=10, reinforce=False, record=False, as_of_s=end_s)
        configs = {str(w): replace(base, weights=dict(base.weights) | {"retention": w}) for w in weights}
        configs["no decay"] = base.without_decay()
        per = {}
        for name, cfg in configs.items():
            got = [{h.memory.id for h in engine.recall(q.question, cfg).hits} for q in qs]
            per[name] = [sum(e in top for e in q.evidence_ids) / len(q.evidence_ids) for q, top in zip(qs, got)]
            scores.setdefault(name, []).extend(per[name])
        print(g, json.dumps({n: round(float(np.mean(v)), 4) for n, v in per.items()}), flush=True)
    rng = np.random.default_rng(0)
    none = np.array(scores["no decay"])
    for w in map(str, weights):
        diff = np.array(scores[w]) - none
        boot = [rng.choice(diff, len(diff)).mean() for _ in range(2000)]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(f"retention {w}: gap {diff.mean():+.4f} [{lo:+.4f}, {hi:+.4f}] over {len(diff)} questions")


if __name__ == "__main__":
    main()
