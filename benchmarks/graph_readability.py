"""Is the memory graph worth reading? Small talk among the hubs, links across conversations (issue 16).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/graph_readability.py [--store /tmp/g3] [--conversations 3]

Ingests the first ``--conversations`` LoCoMo dev conversations into one store with the real model (MiniLM),
through the full write pipeline (so the links are made as the app makes them), and prints one JSON object:

- ``memories``, ``links`` (by kind);
- ``cross_conversation_links``: links whose two ends belong to different conversations (the ``sample_id``
  before the ``:`` of the session id), and the share of all links they are;
- ``central_small_talk``: of the 20 memories with the highest PageRank (:func:`memviz.graph.centrality`),
  how many are small talk; and of the 20 the whole-store view shows first (the level-of-detail score, when
  the code has one). Small talk, for this measurement: at most :data:`SMALL_TALK_WORDS` content words
  (:func:`memviz.text.content_words`: words that are not stopwords; "Thanks, Evan!" has 1, "Talk to you later!"
  has 2). The rule is fixed here so that runs of older code measure the same thing;
- the texts of the top central and bridge memories, to read.

The store is reused when it already holds the memories.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SMALL_TALK_WORDS = 5


def small_talk(text: str) -> bool:
    from memviz.text import content_words

    return len(content_words(text)) <= SMALL_TALK_WORDS


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--store", default="/tmp/memviz_graph_readability")
    p.add_argument("--conversations", type=int, default=3)
    a = p.parse_args()

    from memviz import graph as mg
    from memviz.engine import open_engine
    from memviz.importers import load
    from memviz.paths import LOCOMO_DEV

    ds = load(LOCOMO_DEV, "locomo")
    groups = list(ds.groups)[: a.conversations]
    items = [m for g in groups for m in ds.groups[g]]
    engine = open_engine(str(Path(a.store)))
    if engine.store.count() < len(items):
        engine.ingest(items, batch_size=256)
    nodes, links = mg.graph_frames(engine)
    g, comm, cent, analysis = mg.analyse_graph(nodes, links)
    conv = nodes.set_index("id")["session_id"].str.rpartition(":")[0]
    cross = links["source_id"].map(conv) != links["target_id"].map(conv)
    text = nodes.set_index("id")["text"]
    top = cent["pagerank"].nlargest(20).index
    out = {
        "conversations": groups,
        "memories": len(nodes),
        "links": len(links),
        "links_by_kind": links["kind"].value_counts().to_dict(),
        "cross_conversation_links": int(cross.sum()),
        "cross_conversation_share": round(float(cross.mean()), 4) if len(links) else 0.0,
        "cross_conversation_by_kind": links.loc[cross, "kind"].value_counts().to_dict(),
        "small_talk_rule": f"<= {SMALL_TALK_WORDS} content words",
        "small_talk_share_of_store": round(float(nodes["text"].map(small_talk).mean()), 4),
        "central_small_talk": int(sum(small_talk(text[i]) for i in top)),
        "central": [text[i][:60] for i in top[:10]],
        "bridges": [t[:60] for t in analysis.bridge_memories["text"].head(5)],
    }
    try:
        from memviz.graph_views import display_score

        shown = display_score(nodes, cent).nlargest(20).index
        out["shown_first_small_talk"] = int(sum(small_talk(text[i]) for i in shown))
        out["shown_first"] = [text[i][:60] for i in shown[:10]]
    except ImportError:
        pass
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
