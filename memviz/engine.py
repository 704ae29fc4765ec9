"""The memory engine: write (keywords, importance, embeddings, links), decay, recall with traces, forget.

Collaborators are injected: ``MemoryEngine(store, embedder, clock)``. The engine never imports streamlit.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from memviz import decay as decay_mod
from memviz import scoring, text as text_mod
from memviz.clock import Clock, SimulatedClock
from memviz.decay import DECAY_MODELS, SECONDS_PER_DAY, DecayModel, DecayParams, ReinforceRule
from memviz.embed import Embedder
from memviz.errors import ConfigError, DuplicateMemoryError, EmptyTextError, UnknownMemoryError
from memviz.models import (
    MEMORY_KINDS,
    Hit,
    Link,
    Memory,
    MemoryInput,
    RecallResult,
    StageCandidate,
    Trace,
    TraceStage,
    WriteItemReport,
    WriteReport,
)
from memviz.store import LINKS_SCHEMA, MEMORIES_SCHEMA, MemoryStore, memory_from_row, sql_str_list

OnDuplicate = Literal["error", "skip"]
Progress = Callable[[int, int], None]

STAGES: tuple[str, ...] = ("embed", "vector", "fulltext", "fusion", "scoring", "final")
NOT_FORGOTTEN = "forgotten_time_s IS NULL"


@dataclass(frozen=True)
class LinkConfig:
    """How new memories are linked (A-MEM-style semantic links plus temporal and keyword links).

    - semantic: to the ``semantic_top_n`` nearest earlier memories with cosine similarity >= ``semantic_threshold``
      (A-MEM, Xu et al. 2025, links a new note to its nearest neighbours; the threshold is ours).
    - temporal: to the previous turn of the same session (weight 1).
    - keyword: to up to ``keyword_top_n`` earlier memories sharing a keyword, weighted by the Jaccard overlap
      of their keyword sets; keywords found in more than ``keyword_max_df`` of the store (and at least
      20 memories) are too common to link on (names of the two speakers, greetings).
    """

    semantic_threshold: float = 0.55
    semantic_top_n: int = 5
    keyword_top_n: int = 3
    keyword_max_df: float = 0.02


@dataclass(frozen=True)
class RecallConfig:
    """One recall's settings.

    - ``k``: hits returned (>= 1). ``candidates``: how many each retriever (vector, full-text) returns.
    - ``fusion``: True pools vector and full-text candidates by reciprocal rank fusion; False uses the vector
      candidates only (full-text scores are still shown for those it matched).
    - ``weights``: component name -> weight (see :data:`memviz.scoring.COMPONENTS`); the score is their
      weighted mean, in [0, 1].
    - ``decay_model``: the retention component's model. ``include_forgotten``: search soft-forgotten memories too.
    - ``reinforce``: a recall strengthens its hits (stability up, elapsed time reset) and records it.
    """

    k: int = 10
    candidates: int = 50
    fusion: bool = True
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"relevance": 1.0, "lexical": 0.25, "recency": 0.05, "importance": 0.05, "retention": 0.1}
    )
    decay_model: DecayModel = "exponential"
    include_forgotten: bool = False
    reinforce: bool = True
    rrf_k: int = scoring.RRF_K

    def validated(self) -> RecallConfig:
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"k must be a whole number >= 1, got {self.k!r}")
        if self.candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {self.candidates!r}")
        if self.decay_model not in DECAY_MODELS:
            raise ConfigError(f"unknown decay model {self.decay_model!r}; choose one of {', '.join(DECAY_MODELS)}")
        return replace(self, weights=scoring.validate_weights(self.weights), candidates=max(self.candidates, self.k))


def embedding_text(text: str, speaker: str) -> str:
    """What is embedded for a memory: the LoCoMo protocol's ``{speaker} said, "{text}"`` when a speaker is known."""
    return f'{speaker} said, "{text}"' if speaker else text


class MemoryEngine:
    """Write, link, decay, recall and forget memories in a :class:`MemoryStore`.

    ``clock`` gives "now" (POSIX seconds) for creation times, decay and recalls; use a SimulatedClock to
    demonstrate decay. ``decay_params`` and ``reinforce_rule`` configure the decay models.
    """

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        clock: Clock,
        link_config: LinkConfig = LinkConfig(),
        decay_params: DecayParams = DecayParams(),
        reinforce_rule: ReinforceRule = ReinforceRule(),
    ):
        self.store = store
        self.embedder = embedder
        self.clock = clock
        self.link_config = link_config
        self.decay_params = decay_params
        self.reinforce_rule = reinforce_rule

    # ------------------------------------------------------------------------------------------- write
    def write(
        self,
        items: Sequence[MemoryInput | str],
        on_duplicate: OnDuplicate = "error",
        source: Mapping[str, Any] | None = None,
    ) -> WriteReport:
        """Write one batch of memories, all or nothing; returns a per-item write report.

        Raises EmptyTextError (naming the item) for an empty text, ConfigError for an unknown kind,
        DuplicateMemoryError for an id already stored or repeated (unless ``on_duplicate="skip"``, which leaves
        existing ids out and lists them in ``skipped_ids``), StoreError if the store write fails (rolled back).
        ``source`` (e.g. ``{"path", "format"}``) adds an ``import`` event to the batch.
        """
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        inputs = [MemoryInput(text=i) if isinstance(i, str) else i for i in items]
        texts = []
        for n, item in enumerate(inputs):
            try:
                texts.append(text_mod.normalise(item.text))
            except EmptyTextError as e:
                raise EmptyTextError(f"item {n} ({item.source_id or item.id or 'no id'}): {e}") from None
            if item.kind not in MEMORY_KINDS:
                raise ConfigError(f"item {n}: unknown memory kind {item.kind!r}; known: {', '.join(MEMORY_KINDS)}")
        ids = [i.id or uuid.uuid4().hex for i in inputs]
        seen: set[str] = set()
        repeated = [i for i in ids if i in seen or seen.add(i)]
        if repeated:
            raise DuplicateMemoryError(f"the batch repeats memory id(s): {', '.join(sorted(set(repeated))[:5])}")
        existing = self.store.existing_ids(ids)
        skipped: list[str] = []
        if existing:
            if on_duplicate == "error":
                raise DuplicateMemoryError(
                    f"{len(existing)} memory id(s) already stored, e.g. {sorted(existing)[0]}; nothing was written"
                )
            keep = [n for n, i in enumerate(ids) if i not in existing]
            skipped = [i for i in ids if i in existing]
            inputs, texts, ids = [inputs[n] for n in keep], [texts[n] for n in keep], [ids[n] for n in keep]
        timings["normalise_ms"] = _ms(t0)

        t = time.perf_counter()
        kws = [text_mod.keywords(tx) for tx in texts]
        imps = [text_mod.importance(tx) for tx in texts]
        timings["keywords_importance_ms"] = _ms(t)

        t = time.perf_counter()
        vecs = self.embedder.encode([embedding_text(tx, i.speaker) for tx, i in zip(texts, inputs)])
        timings["embed_ms"] = _ms(t)

        now = self.clock.now()
        batch_id = uuid.uuid4().hex
        importance = np.array([p[0] for p in imps], dtype=np.float64)
        stability = decay_mod.initial_stability_days(importance)

        t = time.perf_counter()
        links, neighbours = self._link(ids, inputs, kws, vecs, now, batch_id)
        timings["link_ms"] = _ms(t)

        t = time.perf_counter()
        event_times = [i.event_time_s for i in inputs]
        mem_rows = pa.table(
            {
                "id": ids,
                "text": texts,
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), vecs.shape[1] if len(vecs) else self.embedder.dim),
                "kind": [i.kind for i in inputs],
                "speaker": [i.speaker for i in inputs],
                "session_id": [i.session_id for i in inputs],
                "source_id": [i.source_id for i in inputs],
                "dataset": [i.dataset for i in inputs],
                "event_time_s": pa.array(event_times, pa.float64()),
                "created_time_s": [now] * len(ids),
                "importance": pa.array(importance, pa.float32()),
                "stability_days": stability,
                "recall_count": pa.array([0] * len(ids), pa.int32()),
                "last_recalled_s": pa.array([None] * len(ids), pa.float64()),
                "forgotten_time_s": pa.array([None] * len(ids), pa.float64()),
                "keywords": pa.array(kws, pa.list_(pa.string())),
                "access_times_s": pa.array([[et if et is not None else now] for et in event_times], pa.list_(pa.float64())),
                "batch_id": [batch_id] * len(ids),
            },
            schema=MEMORIES_SCHEMA,
        )
        link_rows = pa.Table.from_pylist([asdict(lk) for lk in links], schema=LINKS_SCHEMA)
        by_source: dict[str, list[Link]] = defaultdict(list)
        for lk in links:
            by_source[lk.source_id].append(lk)
        reports = [
            WriteItemReport(
                id=ids[n], text=texts[n], keywords=kws[n], importance=float(importance[n]), importance_parts=imps[n][1],
                stability_days=float(stability[n]), neighbours=neighbours[n], links=by_source[ids[n]],
            )
            for n in range(len(ids))
        ]
        events = [
            {
                "op": "write", "time_s": now, "memory_ids": [r.id], "batch_id": batch_id,
                "payload": {"text": r.text, "keywords": r.keywords, "importance": r.importance,
                            "stability_days": r.stability_days, "n_links": len(r.links)},
            }
            for r in reports
        ]
        if links:
            events.append({
                "op": "link", "time_s": now, "memory_ids": ids, "batch_id": batch_id,
                "payload": {"links": [[lk.source_id, lk.target_id, lk.kind, round(lk.weight, 4)] for lk in links]},
            })
        if source is not None:
            events.append({"op": "import", "time_s": now, "memory_ids": [], "batch_id": batch_id,
                           "payload": dict(source) | {"n_written": len(ids), "n_skipped": len(skipped)}})
        if ids:
            self.store.commit_batch(batch_id, mem_rows, link_rows, events)
        timings["store_ms"] = _ms(t)
        timings["total_ms"] = _ms(t0)
        return WriteReport(batch_id=batch_id, items=reports, timings_ms=timings, skipped_ids=skipped)

    def ingest(
        self,
        items: Sequence[MemoryInput],
        batch_size: int = 256,
        on_duplicate: OnDuplicate = "skip",
        source: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> list[WriteReport]:
        """Write many memories in batches of ``batch_size``, each batch all-or-nothing.

        ``progress(done, total)`` is called after each batch. Re-ingesting the same data skips the ids already
        stored (importers give stable ids), so an interrupted ingest can be resumed.
        """
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        reports = []
        total = len(items)
        for start in range(0, total, batch_size):
            reports.append(self.write(items[start:start + batch_size], on_duplicate=on_duplicate, source=source))
            if progress:
                progress(min(start + batch_size, total), total)
        if reports:
            self.store.refresh_text_index()
            if isinstance(self.clock, SimulatedClock) and not self.store.list_events(ops=["clock"], limit=1):
                # No one has moved the clock yet: show the store "as of" the end of its data.
                self.clock.set(clock_start_for(self.store))
        return reports

    def _link(self, ids, inputs, kws, vecs, now, batch_id) -> tuple[list[Link], list[list[dict[str, Any]]]]:
        """Links from each new memory to earlier ones (stored, or earlier in this batch), and the nearest
        neighbours of each for the write report."""
        cfg = self.link_config
        n = len(ids)
        links: list[Link] = []
        old_ids, old_vecs = self.store.vectors(NOT_FORGOTTEN)
        all_ids = old_ids + ids
        # Similarity of each new memory to every stored one and to the new ones before it (never to itself
        # or later ones, so links point from newer to older).
        sims = vecs @ np.concatenate([old_vecs, vecs]).T if n else np.zeros((0, 0))
        n_old = len(old_ids)
        if n:
            mask = np.arange(n)[:, None] <= np.arange(n)[None, :]
            sims[:, n_old:][mask] = -np.inf
        top = min(max(cfg.semantic_top_n, 5), sims.shape[1]) if n else 0
        neighbours: list[list[dict[str, Any]]] = []
        texts_needed: set[str] = set()
        order = np.argsort(-sims, axis=1)[:, :top] if top else np.zeros((n, 0), dtype=int)
        for r in range(n):
            nb = []
            for rank, c in enumerate(order[r]):
                s = float(sims[r, c])
                if not np.isfinite(s):
                    break
                nb.append({"id": all_ids[c], "similarity": s})
                texts_needed.add(all_ids[c])
                if rank < cfg.semantic_top_n and s >= cfg.semantic_threshold:
                    links.append(Link(ids[r], all_ids[c], "semantic", s, now, batch_id))
            neighbours.append(nb)
        links += self._temporal_links(ids, inputs, now, batch_id)
        links += self._keyword_links(ids, kws, now, batch_id)
        # Texts of neighbours for the report (new ones are known; stored ones are read in one query).
        new_text = {i: inputs[n].text for n, i in enumerate(ids)}
        stored = [i for i in texts_needed if i not in new_text]
        if stored:
            tbl = self.store.memories_table(columns=["id", "text"], where=f"id IN ({sql_str_list(stored)})")
            new_text |= dict(zip(tbl.column("id").to_pylist(), tbl.column("text").to_pylist()))
        for nb in neighbours:
            for d in nb:
                d["text"] = new_text.get(d["id"], "")
                d["linked"] = d["similarity"] >= cfg.semantic_threshold
        return links, neighbours

    def _temporal_links(self, ids, inputs, now, batch_id) -> list[Link]:
        sessions = sorted({i.session_id for i in inputs if i.session_id})
        if not sessions:
            return []
        # The latest stored memory of each session, to chain across batches.
        tbl = self.store.memories_table(
            columns=["id", "session_id", "event_time_s", "created_time_s"],
            where=f"session_id IN ({sql_str_list(sessions)})",
        )
        last: dict[str, tuple[float, str]] = {}
        if tbl.num_rows:
            df = tbl.to_pandas()
            df["t"] = df["event_time_s"].fillna(df["created_time_s"])
            idx = df.groupby("session_id")["t"].idxmax()
            last = {df.at[i, "session_id"]: (df.at[i, "t"], df.at[i, "id"]) for i in idx}
        order = sorted(range(len(ids)), key=lambda n: (inputs[n].event_time_s if inputs[n].event_time_s is not None else now, n))
        links = []
        for n in order:
            s = inputs[n].session_id
            if not s:
                continue
            if s in last:
                links.append(Link(ids[n], last[s][1], "temporal", 1.0, now, batch_id))
            last[s] = (0.0, ids[n])
        return links

    def _keyword_links(self, ids, kws, now, batch_id) -> list[Link]:
        cfg = self.link_config
        if cfg.keyword_top_n <= 0 or not any(kws):
            return []
        tbl = self.store.memories_table(columns=["id", "keywords"], where=NOT_FORGOTTEN)
        prior_ids = tbl.column("id").to_pylist() + list(ids)
        prior_kws = [set(k or []) for k in tbl.column("keywords").to_pylist()] + [set(k) for k in kws]
        index: dict[str, list[int]] = defaultdict(list)
        for pos, ks in enumerate(prior_kws):
            for kw in ks:
                index[kw].append(pos)
        max_df = max(20, cfg.keyword_max_df * len(prior_ids))
        links = []
        n_old = tbl.num_rows
        for n, mid in enumerate(ids):
            me = n_old + n
            mine = prior_kws[me]
            cands: dict[int, float] = {}
            for kw in mine:
                posting = index[kw]
                if len(posting) > max_df:
                    continue
                for pos in posting:
                    if pos < me and pos not in cands:
                        other = prior_kws[pos]
                        cands[pos] = len(mine & other) / len(mine | other)
            best = sorted(cands.items(), key=lambda x: (-x[1], -x[0]))[: cfg.keyword_top_n]
            links += [Link(mid, prior_ids[pos], "keyword", w, now, batch_id) for pos, w in best]
        return links

    # ------------------------------------------------------------------------------------------- decay
    def retention_frame(
        self, model: DecayModel = "exponential", now_s: float | None = None, where: str | None = None
    ) -> pd.DataFrame:
        """Every memory (matching ``where``) with its retention at ``now_s`` (default: the clock) under
        ``model``; one row per memory, vectorised over the whole store.

        Columns: the memories table's (no vector) plus ``last_access_s``, ``elapsed_days`` and ``retention``.
        """
        now = self.clock.now() if now_s is None else float(now_s)
        tbl = self.store.memories_table(where=where)
        df = tbl.to_pandas()
        if df.empty:
            for c in ("last_access_s", "elapsed_days", "retention"):
                df[c] = pd.Series(dtype="float64")
            return df
        df["last_access_s"] = _last_access(df)
        df["elapsed_days"] = (now - df["last_access_s"]) / SECONDS_PER_DAY
        df["retention"] = self._retention(tbl, df["last_access_s"].to_numpy(), model, now)
        return df

    def _retention(self, tbl: pa.Table, last_access_s: np.ndarray, model: DecayModel, now: float) -> np.ndarray:
        access = offsets = None
        if model == "actr":
            col = tbl.column("access_times_s").combine_chunks()
            access, offsets = col.flatten().to_numpy(zero_copy_only=False), col.offsets.to_numpy()
        return decay_mod.retention(
            model, now, last_access_s, tbl.column("stability_days").to_numpy(), access, offsets, self.decay_params
        )

    def advance_clock(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Advance the simulated clock and record a ``clock`` event. Raises ConfigError on a real clock."""
        if not isinstance(self.clock, SimulatedClock):
            raise ConfigError("the engine runs on real time; only a simulated clock can be advanced")
        before = self.clock.now()
        after = self.clock.advance(days=days, seconds=seconds)
        self.store.append_events([{"op": "clock", "time_s": after, "payload": {"from_s": before, "to_s": after}}])
        return after

    def set_clock(self, t_s: float) -> None:
        """Set the simulated clock to ``t_s`` (POSIX seconds) and record a ``clock`` event."""
        if not isinstance(self.clock, SimulatedClock):
            raise ConfigError("the engine runs on real time; only a simulated clock can be set")
        before = self.clock.now()
        self.clock.set(t_s)
        self.store.append_events([{"op": "clock", "time_s": t_s, "payload": {"from_s": before, "to_s": t_s}}])

    def reinforce(self, ids: Sequence[str], reason: str = "manual", trace_id: str | None = None) -> list[dict[str, Any]]:
        """Strengthen memories as a recall does (see :class:`memviz.decay.ReinforceRule`) and record
        ``reinforce`` events. Returns per memory {id, stability_before, stability_after, retention_before}.
        Raises UnknownMemoryError."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        now = self.clock.now()
        tbl = self.store.memories_table(where=f"id IN ({sql_str_list(ids)})")
        found = set(tbl.column("id").to_pylist())
        if missing := [i for i in ids if i not in found]:
            raise UnknownMemoryError(missing)
        df = tbl.to_pandas()
        last = _last_access(df)
        r_now = decay_mod.exponential_retention((now - last) / SECONDS_PER_DAY, df["stability_days"].to_numpy())
        s_new = self.reinforce_rule.apply(df["stability_days"].to_numpy(), r_now)
        updates = pa.table(
            {
                "id": df["id"].tolist(),
                "stability_days": s_new,
                "recall_count": pa.array(df["recall_count"].to_numpy() + 1, pa.int32()),
                "last_recalled_s": [now] * len(df),
                "access_times_s": pa.array([list(a) + [now] for a in df["access_times_s"]], pa.list_(pa.float64())),
            }
        )
        self.store.update_memories(updates)
        out = [
            {"id": i, "stability_before": float(s0), "stability_after": float(s1), "retention_before": float(r)}
            for i, s0, s1, r in zip(df["id"], df["stability_days"], s_new, r_now)
        ]
        self.store.append_events([
            {"op": "reinforce", "time_s": now, "memory_ids": [o["id"]], "payload": o | {"reason": reason, "trace_id": trace_id}}
            for o in out
        ])
        return out

    # ------------------------------------------------------------------------------------------ recall
    def recall(self, query: str, config: RecallConfig | None = None, **overrides: Any) -> RecallResult:
        """Recall the top-k memories for ``query`` and the full trace of how they were chosen.

        Stages (see :data:`STAGES`): embed the query; vector candidates (exact cosine); full-text candidates
        (LanceDB native BM25); fusion (reciprocal rank fusion, Cormack et al. 2009); scoring (weighted mean of
        the components in :data:`memviz.scoring.COMPONENTS`); final top-k. With ``reinforce`` the hits are
        strengthened and ``recall`` + ``reinforce`` events are recorded (the recall event carries the trace).
        Raises EmptyTextError for an empty query, ConfigError for bad settings.
        """
        cfg = replace(config or RecallConfig(), **overrides).validated()
        try:
            query = text_mod.normalise(query)
        except EmptyTextError:
            raise EmptyTextError("the query is empty") from None
        t_start = time.perf_counter()
        now = self.clock.now()
        where = None if cfg.include_forgotten else NOT_FORGOTTEN
        stages: list[TraceStage] = []

        t = time.perf_counter()
        qvec = self.embedder.encode([query])[0]
        stages.append(TraceStage("embed", _ms(t), [], {"model": self.embedder.name, "dim": int(qvec.shape[0])}))

        t = time.perf_counter()
        v_ids, v_sims = self.store.vector_search(qvec, cfg.candidates, where)
        stages.append(TraceStage("vector", _ms(t), [
            StageCandidate(i, r, {"relevance": float(s)}) for r, (i, s) in enumerate(zip(v_ids, v_sims), 1)
        ], {"metric": "cosine", "limit": cfg.candidates}))

        t = time.perf_counter()
        f_ids, f_scores = self.store.text_search(query, cfg.candidates, where)
        f_norm = scoring.squash_bm25(f_scores)
        stages.append(TraceStage("fulltext", _ms(t), [
            StageCandidate(i, r, {"bm25": float(s), "lexical": float(x)})
            for r, (i, s, x) in enumerate(zip(f_ids, f_scores, f_norm), 1)
        ], {"index": "lancedb-fts", "limit": cfg.candidates}))

        t = time.perf_counter()
        fused = scoring.rrf([v_ids, f_ids], cfg.rrf_k)
        max_rrf = 2.0 / (cfg.rrf_k + 1)
        pool = sorted(fused, key=lambda i: -fused[i]) if cfg.fusion else list(v_ids)
        stages.append(TraceStage("fusion", _ms(t), [
            StageCandidate(i, r, {"rrf": fused[i] / max_rrf}) for r, i in enumerate(pool, 1)
        ], {"method": "rrf" if cfg.fusion else "vector only", "rrf_k": cfg.rrf_k}))

        t = time.perf_counter()
        hits: list[Hit] = []
        scored: list[StageCandidate] = []
        if pool:
            tbl = self.store.memories_table(
                columns=list(MEMORIES_SCHEMA.names), where=f"id IN ({sql_str_list(pool)})"
            )
            row_of = {i: n for n, i in enumerate(tbl.column("id").to_pylist())}
            pool = [i for i in pool if i in row_of]  # a concurrent prune may have removed one
            take = pa.array([row_of[i] for i in pool], pa.int64())
            tbl = tbl.take(take)
            rows = tbl.drop(["vector"]).to_pylist()
            df = pd.DataFrame(rows)
            vecs = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(len(pool), -1)
            last = _last_access(df)
            lex = dict(zip(f_ids, f_norm))
            comps = {
                "relevance": np.clip(vecs @ qvec, 0.0, 1.0),
                "lexical": np.array([lex.get(i, 0.0) for i in pool]),
                "rrf": np.array([fused.get(i, 0.0) / max_rrf for i in pool]),
                "recency": scoring.recency((now - last) / 3600.0),
                "importance": df["importance"].to_numpy(np.float64),
                "retention": self._retention(tbl, last, cfg.decay_model, now),
            }
            score = scoring.combine(comps, cfg.weights)
            order = np.argsort(-score, kind="stable")
            for rank, n in enumerate(order, 1):
                parts = {c: float(comps[c][n]) for c in scoring.COMPONENTS}
                scored.append(StageCandidate(pool[n], rank, parts | {"score": float(score[n])}))
                if rank <= cfg.k:
                    hits.append(Hit(memory_from_row(rows[n]), float(score[n]), parts, rank))
        stages.append(TraceStage("scoring", _ms(t), scored, {"weights": dict(cfg.weights), "decay_model": cfg.decay_model}))
        stages.append(TraceStage("final", 0.0, scored[: cfg.k], {"k": cfg.k}))

        cfg_dict = asdict(cfg) | {"weights": dict(cfg.weights)}
        trace = Trace(uuid.uuid4().hex, query, cfg.k, now, cfg_dict, stages, _ms(t_start))
        self.store.append_events([{
            "op": "recall", "time_s": now, "memory_ids": [h.memory.id for h in hits],
            "payload": {"query": query, "trace": trace.to_dict()},
        }])
        if cfg.reinforce and hits:
            self.reinforce([h.memory.id for h in hits], reason="recall", trace_id=trace.id)
        return RecallResult(hits, trace)

    def traces(self, limit: int = 50) -> list[Trace]:
        """The most recent recall traces, newest last (replayed from ``recall`` events)."""
        return [Trace.from_dict(e.payload["trace"]) for e in self.store.list_events(ops=["recall"], limit=limit)]

    # ------------------------------------------------------------------------------------ forget/prune
    def forget(self, ids: Sequence[str], reason: str = "manual") -> list[str]:
        """Soft-forget memories: they leave recall but stay stored and can be restored. Recorded as a
        ``forget`` event. Already forgotten ids are left as they are. Raises UnknownMemoryError."""
        return self._set_forgotten(ids, self.clock.now(), "forget", reason)

    def restore(self, ids: Sequence[str]) -> list[str]:
        """Undo a soft forget (``restore`` event). Raises UnknownMemoryError."""
        return self._set_forgotten(ids, None, "restore", "manual")

    def _set_forgotten(self, ids, value, op, reason) -> list[str]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        tbl = self.store.memories_table(columns=["id", "forgotten_time_s"], where=f"id IN ({sql_str_list(ids)})")
        found = dict(zip(tbl.column("id").to_pylist(), tbl.column("forgotten_time_s").to_pylist()))
        if missing := [i for i in ids if i not in found]:
            raise UnknownMemoryError(missing)
        changed = [i for i in ids if (found[i] is None) != (value is None)]
        if changed:
            self.store.update_memories(pa.table({"id": changed, "forgotten_time_s": pa.array([value] * len(changed), pa.float64())}))
            self.store.append_events([{"op": op, "time_s": self.clock.now(), "memory_ids": changed, "payload": {"reason": reason}}])
        return changed

    def forget_below(self, threshold: float, model: DecayModel = "exponential") -> list[str]:
        """Soft-forget every memory whose retention now is below ``threshold`` (in [0, 1]). Returns their ids."""
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"the retention threshold must be in [0, 1], got {threshold!r}")
        df = self.retention_frame(model, where=NOT_FORGOTTEN)
        ids = df.loc[df["retention"] < threshold, "id"].tolist()
        return self._set_forgotten(ids, self.clock.now(), "forget", f"retention < {threshold} ({model})")

    def prune(self, ids: Sequence[str]) -> int:
        """Hard-delete memories and their links (irreversible in the current version; older LanceDB versions
        still hold them). The pruned rows are recorded in a ``prune`` event. Returns the number removed."""
        mems = self.store.get(list(dict.fromkeys(ids)))
        if not mems:
            return 0
        self.store.delete_memories([m.id for m in mems])
        self.store.append_events([{
            "op": "prune", "time_s": self.clock.now(), "memory_ids": [m.id for m in mems],
            "payload": {"memories": [{"id": m.id, "text": m.text, "speaker": m.speaker, "session_id": m.session_id,
                                      "source_id": m.source_id} for m in mems]},
        }])
        return len(mems)

    # ------------------------------------------------------------------------------------------- read
    def stats(self) -> dict[str, Any]:
        """The store's counts (see :meth:`MemoryStore.stats`) and the clock time ``now_s``."""
        return self.store.stats() | {"now_s": self.clock.now()}

    def get(self, memory_id: str) -> Memory:
        """One memory by id. Raises UnknownMemoryError."""
        return self.store.get([memory_id])[0]

    def list_memories(self, model: DecayModel = "exponential", limit: int | None = None) -> pd.DataFrame:
        """The memory table for display: every column but the vector, plus retention now."""
        df = self.retention_frame(model)
        return df.head(limit) if limit is not None else df


def _last_access(df: pd.DataFrame) -> np.ndarray:
    """When decay counts from, per row: the latest of the event (or creation) time and the last recall."""
    base = df["event_time_s"].fillna(df["created_time_s"]).to_numpy(np.float64)
    recalled = df["last_recalled_s"].to_numpy(np.float64, na_value=np.nan)
    return np.fmax(base, recalled)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def clock_start_for(store: MemoryStore) -> float:
    """Where a simulated clock starts for ``store``: the last recorded clock time, else the latest event
    time in the data (so decay is seen "as of" the end of the data), else now."""
    clocks = store.list_events(ops=["clock"], limit=1)
    if clocks:
        return clocks[-1].payload["to_s"]
    if store.count():
        tbl = store.memories_table(columns=["event_time_s", "created_time_s"])
        t = pc.max(tbl.column("event_time_s")).as_py()
        return t if t is not None else pc.max(tbl.column("created_time_s")).as_py()
    return time.time()


def open_engine(db: str | None = None, clock: Clock | None = None, embedder: Embedder | None = None) -> MemoryEngine:
    """An engine on the store at ``db`` (default: $MEMVIZ_DB or .memviz) with the MiniLM embedder and a
    simulated clock starting at :func:`clock_start_for`."""
    from memviz.embed import MiniLMEmbedder

    store = MemoryStore(db)
    return MemoryEngine(store, embedder or MiniLMEmbedder(), clock or SimulatedClock(clock_start_for(store)))


__all__ = [
    "STAGES", "LinkConfig", "MemoryEngine", "RecallConfig", "clock_start_for", "embedding_text", "open_engine",
]
