"""The memory engine: write (keywords, importance, embeddings, links), decay, recall with traces, forget.

Collaborators are injected: ``MemoryEngine(store, embedder, clock)``. The engine never imports streamlit.
"""

from __future__ import annotations

import functools
import threading
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

# The stages of every recall trace, in order; a config with graph expansion adds "graph" before "final".
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


Retriever = Literal["vector", "fulltext"]
RETRIEVERS: tuple[str, ...] = ("vector", "fulltext")
# Components computed per memory before the graph stage; "graph" is the graph stage's own.
BASE_COMPONENTS: tuple[str, ...] = tuple(c for c in scoring.COMPONENTS if c != "graph")


@dataclass(frozen=True)
class RecallConfig:
    """One recall's settings.

    - ``k``: hits returned (>= 1). ``candidates``: how many each retriever (vector, full-text) returns.
    - ``retrievers``: the retrievers whose candidates enter the pool (both by default). Both searches always
      run so that their scores can be shown; only these feed the pool.
    - ``fusion``: True pools the retrievers' candidates by reciprocal rank fusion; False uses the first
      retriever's candidates only (by default the vector ones; full-text scores are still shown for those it
      matched).
    - ``weights``: component name -> weight (see :data:`memviz.scoring.COMPONENTS`); the score is their
      weighted mean, in [0, 1].
    - ``normalise``: ``"minmax"`` rescales each component to [0, 1] over the pool before weighting
      (Generative Agents); ``"none"`` uses the raw components.
    - ``lexical_norm``: BM25 to the lexical component: ``"max"`` (divided by the query's best BM25) or
      ``"sigmoid"`` (mem0's logistic squash, :func:`memviz.scoring.sigmoid_bm25`).
    - ``min_relevance`` / ``min_retention`` (in [0, 1]): gates; a candidate whose relevance (a semantic
      threshold, as mem0's) or retention (as MemoryBank's forgetting) is below is left out before scoring.
      Gated candidates are listed in the scoring stage's ``info["gated"]``.
    - ``graph_hops``: 0 = no graph stage; 1-3 = spread activation from the ``graph_seeds`` best scored
      candidates over the links table for that many hops, decaying by ``graph_decay`` (in (0, 1]) per hop,
      aggregated over paths by ``graph_aggregate`` (``"max"``: best path; ``"sum"``: all paths, clipped at 1);
      the activation is the ``graph`` component, which needs a positive weight (and only has one with hops).
    - ``decay_model``: the retention component's model. ``include_forgotten``: search soft-forgotten memories too.
    - ``as_of_s``: recall as of this clock time (POSIX s) instead of the engine clock (recency, retention);
      it cannot be combined with ``reinforce`` (a reinforcement happens at the engine clock).
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
    retrievers: tuple[Retriever, ...] = RETRIEVERS
    normalise: Literal["none", "minmax"] = "none"
    lexical_norm: Literal["max", "sigmoid"] = "max"
    min_relevance: float = 0.0
    min_retention: float = 0.0
    graph_hops: int = 0
    graph_decay: float = 0.5
    graph_aggregate: Literal["max", "sum"] = "max"
    graph_seeds: int = 10
    as_of_s: float | None = None

    def validated(self) -> RecallConfig:
        """This config checked and completed (full weights, ``candidates >= k``). Raises ConfigError."""
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"k must be a whole number >= 1, got {self.k!r}")
        if self.candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {self.candidates!r}")
        if self.decay_model not in DECAY_MODELS:
            raise ConfigError(f"unknown decay model {self.decay_model!r}; choose one of {', '.join(DECAY_MODELS)}")
        retrievers = tuple(self.retrievers)
        if not retrievers or len(set(retrievers)) != len(retrievers) or set(retrievers) - set(RETRIEVERS):
            raise ConfigError(f"retrievers must be distinct names among {', '.join(RETRIEVERS)}, got {retrievers!r}")
        if self.normalise not in ("none", "minmax"):
            raise ConfigError(f"normalise must be 'none' or 'minmax', got {self.normalise!r}")
        if self.lexical_norm not in ("max", "sigmoid"):
            raise ConfigError(f"lexical_norm must be 'max' or 'sigmoid', got {self.lexical_norm!r}")
        for name in ("min_relevance", "min_retention"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ConfigError(f"{name} must be a number in [0, 1], got {v!r}")
        if not isinstance(self.graph_hops, (int, np.integer)) or not 0 <= self.graph_hops <= 3:
            raise ConfigError(f"graph_hops must be 0, 1, 2 or 3, got {self.graph_hops!r}")
        if not (isinstance(self.graph_decay, (int, float)) and 0.0 < self.graph_decay <= 1.0):
            raise ConfigError(f"graph_decay must be in (0, 1], got {self.graph_decay!r}")
        if self.graph_aggregate not in ("max", "sum"):
            raise ConfigError(f"graph_aggregate must be 'max' or 'sum', got {self.graph_aggregate!r}")
        if not isinstance(self.graph_seeds, (int, np.integer)) or self.graph_seeds < 1:
            raise ConfigError(f"graph_seeds must be a whole number >= 1, got {self.graph_seeds!r}")
        weights = scoring.validate_weights(self.weights)
        if (weights["graph"] > 0) != (self.graph_hops > 0):
            raise ConfigError("the graph weight and graph_hops go together: set both (graph expansion) or neither")
        if self.as_of_s is not None and not np.isfinite(self.as_of_s):
            raise ConfigError(f"as_of_s must be a finite time in POSIX seconds, got {self.as_of_s!r}")
        if self.as_of_s is not None and self.reinforce:
            raise ConfigError("an 'as of' recall cannot reinforce (reinforcement happens at the engine clock)")
        return replace(self, weights=weights, candidates=max(self.candidates, self.k), retrievers=retrievers)


def embedding_text(text: str, speaker: str) -> str:
    """What is embedded for a memory: the LoCoMo protocol's ``{speaker} said, "{text}"`` when a speaker is known."""
    return f'{speaker} said, "{text}"' if speaker else text


def _locked(method):
    """Run ``method`` holding the engine's write lock (see ``MemoryEngine.__init__``)."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._write_lock:
            return method(self, *args, **kwargs)

    return locked


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
        # Serialises this engine's changes to the store: the app shares one engine between its sessions and a
        # background ingest, and a batch's links must see every batch committed before it.
        self._write_lock = threading.RLock()

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
        batch = self._prepare(items, on_duplicate)
        return self._commit(batch, *self._embed_keywords([batch]), source)

    def _prepare(self, items: Sequence[MemoryInput | str], on_duplicate: OnDuplicate,
                 pending: set[str] = frozenset()) -> _Batch:
        """Check, normalise and de-duplicate one batch (see :meth:`write`); ``pending`` ids (prepared for an
        earlier batch of the same ingest window, not yet stored) count as stored."""
        t0 = time.perf_counter()
        inputs = [MemoryInput(text=i) if isinstance(i, str) else i for i in items]
        texts = [_checked_text(n, item) for n, item in enumerate(inputs)]
        ids = [i.id or uuid.uuid4().hex for i in inputs]
        seen: set[str] = set()
        repeated = [i for i in ids if i in seen or seen.add(i)]
        if repeated:
            raise DuplicateMemoryError(f"the batch repeats memory id(s): {', '.join(sorted(set(repeated))[:5])}")
        batch = _Batch(inputs, texts, ids, [], {}, on_duplicate)
        batch, _ = batch.without(self.store.existing_ids(ids) | (set(ids) & pending), "already stored")
        batch.timings["normalise_ms"] = _ms(t0)
        return batch

    def _embed_keywords(self, batches: Sequence[_Batch]) -> tuple[np.ndarray, list, list]:
        """Embeddings (one encoder call for all ``batches``: it sorts the texts by length, so the fewer the
        calls, the less padding), keywords and importance of the batches' texts, concatenated in order. Adds
        each batch's share of the time to its ``timings``."""
        texts = [tx for b in batches for tx in b.texts]
        speakers = [i.speaker for b in batches for i in b.inputs]
        # Keywords and importance (pure Python, YAKE) run in a worker thread while the encoder (torch, which
        # releases the GIL) embeds the texts, so they hide behind the encoder (see docs/performance.md).
        t = time.perf_counter()
        kw_job = _worker("keywords").submit(_keywords_importance, texts)
        vecs = self.embedder.encode([embedding_text(tx, sp) for tx, sp in zip(texts, speakers)])
        embed_ms = _ms(t)
        t = time.perf_counter()
        kws, imps, kw_ms = kw_job.result()
        wait_ms = _ms(t)
        for b in batches:
            share = len(b.texts) / max(1, len(texts))
            b.timings |= {"embed_ms": embed_ms * share,
                          "keywords_wait_ms": wait_ms * share,  # what the keywords added after the encoder
                          "keywords_importance_ms": kw_ms * share}  # their own time, overlapped with embed_ms
        return vecs, kws, imps

    @_locked
    def _commit(self, batch: _Batch, vecs: np.ndarray, kws: list, imps: list,
                source: Mapping[str, Any] | None) -> WriteReport:
        """Link and store one prepared batch with its embeddings, keywords and importance (all or nothing).
        Ids that another writer stored since the batch was prepared are skipped or refused, as the batch's
        ``on_duplicate`` says."""
        t0 = time.perf_counter()
        batch, keep = batch.without(self.store.existing_ids(batch.ids), "were stored meanwhile")
        if len(keep) < len(vecs):
            vecs, kws, imps = vecs[keep], [kws[n] for n in keep], [imps[n] for n in keep]
        inputs, texts, ids, skipped, timings = batch.inputs, batch.texts, batch.ids, batch.skipped, batch.timings
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
        # This batch's own steps plus its share of the window's embedding (keywords_importance_ms overlapped it).
        timings["total_ms"] = timings["normalise_ms"] + timings["embed_ms"] + timings["keywords_wait_ms"] + _ms(t0)
        return WriteReport(batch_id=batch_id, items=reports, timings_ms=timings, skipped_ids=skipped)

    def ingest(
        self,
        items: Sequence[MemoryInput],
        batch_size: int = 256,
        on_duplicate: OnDuplicate = "skip",
        source: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        embed_window: int = 2048,
    ) -> list[WriteReport]:
        """Write many memories in batches of ``batch_size``, each batch all-or-nothing.

        The texts of ``embed_window`` memories at a time are embedded in one encoder call before their batches
        are committed one by one: the encoder sorts texts by length, so one call over 2,048 texts pads less
        than eight calls over 256 (17% faster on LoCoMo turns). Memory stays bounded by the window.

        ``progress(done, total)`` is called after each batch. Re-ingesting the same data skips the ids already
        stored (importers give stable ids), so an interrupted ingest can be resumed.
        """
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        # Every item is checked before the first batch is written: a bad item in a late batch writes nothing.
        for n, item in enumerate(items):
            _checked_text(n, MemoryInput(text=item) if isinstance(item, str) else item)
        reports = []
        total = len(items)
        window = max(batch_size, embed_window)
        with self.store.deferred_text_index():  # one full-text index build at the end, not one per batch
            for w in range(0, total, window):
                # Prepare the window's batches, embed them in one encoder call, then commit them one by one.
                batches: list[_Batch] = []
                pending: set[str] = set()
                for start in range(w, min(total, w + window), batch_size):
                    batches.append(self._prepare(items[start:start + batch_size], on_duplicate, pending))
                    pending |= set(batches[-1].ids)
                vecs, kws, imps = self._embed_keywords(batches)
                at = 0
                for n, b in enumerate(batches):
                    end = at + len(b.ids)
                    reports.append(self._commit(b, vecs[at:end], kws[at:end], imps[at:end], source))
                    at = end
                    if progress:
                        progress(min(w + (n + 1) * batch_size, total), total)
                _trim_heap()
        if reports:
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
        order = _top_columns(sims, top)
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
        self, model: DecayModel = "exponential", now_s: float | None = None, where: str | None = None,
        params: DecayParams | None = None, version: int | None = None,
    ) -> pd.DataFrame:
        """Every memory (matching ``where``) with its retention at ``now_s`` (default: the clock) under
        ``model``; one row per memory, vectorised over the whole store.

        ``params`` overrides the engine's decay parameters (a what-if; nothing is stored). ``version`` reads the
        memories as they were at that LanceDB version of the memories table (read-only; see
        :meth:`MemoryStore.memories_table_at`). Columns: the memories table's (no vector) plus ``last_access_s``,
        ``elapsed_days`` and ``retention``. Raises StoreError for a version that does not exist.
        """
        now = self.clock.now() if now_s is None else float(now_s)
        tbl = (self.store.memories_table(where=where) if version is None
               else self.store.memories_table_at(version, where=where))
        df = tbl.to_pandas()
        if df.empty:
            for c in ("last_access_s", "elapsed_days", "retention"):
                df[c] = pd.Series(dtype="float64")
            return df
        df["last_access_s"] = _last_access(tbl)
        df["elapsed_days"] = (now - df["last_access_s"]) / SECONDS_PER_DAY
        df["retention"] = self._retention(tbl, df["last_access_s"].to_numpy(), model, now, params)
        return df

    def _retention(
        self, tbl: pa.Table, last_access_s: np.ndarray, model: DecayModel, now: float, params: DecayParams | None = None
    ) -> np.ndarray:
        access = offsets = None
        if model == "actr":
            col = tbl.column("access_times_s").combine_chunks()
            access, offsets = col.flatten().to_numpy(zero_copy_only=False), col.offsets.to_numpy()
        return decay_mod.retention(
            model, now, last_access_s, tbl.column("stability_days").to_numpy(), access, offsets,
            params or self.decay_params,
        )

    @_locked
    def advance_clock(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Advance the simulated clock and record a ``clock`` event. Raises ConfigError on a real clock."""
        if not isinstance(self.clock, SimulatedClock):
            raise ConfigError("the engine runs on real time; only a simulated clock can be advanced")
        before = self.clock.now()
        after = self.clock.advance(days=days, seconds=seconds)
        self.store.append_events([{"op": "clock", "time_s": after, "payload": {"from_s": before, "to_s": after}}])
        return after

    @_locked
    def set_clock(self, t_s: float) -> None:
        """Set the simulated clock to ``t_s`` (POSIX seconds) and record a ``clock`` event."""
        if not isinstance(self.clock, SimulatedClock):
            raise ConfigError("the engine runs on real time; only a simulated clock can be set")
        before = self.clock.now()
        self.clock.set(t_s)
        self.store.append_events([{"op": "clock", "time_s": t_s, "payload": {"from_s": before, "to_s": t_s}}])

    @_locked
    def reinforce(self, ids: Sequence[str], reason: str = "manual", trace_id: str | None = None) -> list[dict[str, Any]]:
        """Strengthen memories as a recall does (see :class:`memviz.decay.ReinforceRule`) and record
        ``reinforce`` events. Returns per memory {id, stability_before, stability_after, retention_before}.
        Raises UnknownMemoryError."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        now = self.clock.now()
        found, tbl, _ = self.store.rows(ids)
        if missing := sorted(set(ids) - set(found)):
            raise UnknownMemoryError(missing)
        df = tbl.to_pandas()
        last = _last_access(tbl)
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
    def recall(
        self, query: str, config: RecallConfig | None = None, *, exclude_ids: Sequence[str] = (), **overrides: Any
    ) -> RecallResult:
        """Recall the top-k memories for ``query`` and the full trace of how they were chosen.

        Stages (see :data:`STAGES`): embed the query; vector candidates (exact cosine); full-text candidates
        (LanceDB native BM25; run in a worker thread at the same time as the vector search, so their two
        ``duration_ms`` overlap and ``Trace.total_ms`` is less than the stages' sum); fusion (the pool:
        reciprocal rank fusion of the configured retrievers, Cormack et al. 2009, or one retriever's list); scoring (the gates, then the weighted mean of the components in
        :data:`memviz.scoring.COMPONENTS`); graph, only when ``graph_hops`` > 0 (activation spread over the
        links from the best scored candidates; it can bring in linked memories from outside the pool); final
        top-k. Each stage lists its candidates in rank order with the scores known there; the scoring, graph
        and final stages are sorted by ``score``. A ``recall`` event carrying the trace is recorded; with
        ``reinforce`` the hits are strengthened too (``reinforce`` events). ``exclude_ids`` leaves those memories
        out of every stage, as if they were forgotten (e.g. to preview what a forget would change); the trace's
        config records how many were excluded.
        Raises EmptyTextError for an empty query, ConfigError for bad settings.
        """
        cfg = replace(config or RecallConfig(), **overrides).validated()
        try:
            query = text_mod.normalise(query)
        except EmptyTextError:
            raise EmptyTextError("the query is empty") from None
        t_start = time.perf_counter()
        now = self.clock.now() if cfg.as_of_s is None else float(cfg.as_of_s)
        where = None if cfg.include_forgotten else NOT_FORGOTTEN
        if exclude_ids:
            excluded = f"id NOT IN ({sql_str_list(set(exclude_ids))})"
            where = excluded if where is None else f"{where} AND {excluded}"
        stages: list[TraceStage] = []

        t = time.perf_counter()
        qvec = self.embedder.encode([query])[0]
        stages.append(TraceStage("embed", _ms(t), [], {"model": self.embedder.name, "dim": int(qvec.shape[0])}))

        # The two retrievers run at once: both spend their time outside the GIL (numpy's dot product, LanceDB's
        # Rust full-text search), so on two cores a recall waits for the slower one, not for their sum.
        fulltext_job = _worker("fulltext").submit(_timed, self.store.text_search, query, cfg.candidates, where)
        t = time.perf_counter()
        v_ids, v_sims = self.store.vector_search(qvec, cfg.candidates, where)
        stages.append(TraceStage("vector", _ms(t), [
            StageCandidate(i, r, {"relevance": float(s)}) for r, (i, s) in enumerate(zip(v_ids, v_sims), 1)
        ], {"metric": "cosine", "limit": cfg.candidates}))

        (f_ids, f_scores), fulltext_ms = fulltext_job.result()
        t = time.perf_counter()
        ctx = _RecallContext.build(query, qvec, now, cfg, dict(zip(f_ids, f_scores.tolist())))
        f_lex = ctx.lexical(f_ids)
        stages.append(TraceStage("fulltext", fulltext_ms + _ms(t), [
            StageCandidate(i, r, {"bm25": float(s), "lexical": float(x)})
            for r, (i, s, x) in enumerate(zip(f_ids, f_scores, f_lex), 1)
        ], {"index": "lancedb-fts", "limit": cfg.candidates, "concurrent_with": "vector"}))

        t = time.perf_counter()
        lists = {"vector": v_ids, "fulltext": f_ids}
        active = [lists[r] for r in cfg.retrievers]
        fused = scoring.rrf(active, cfg.rrf_k)
        max_rrf = len(active) / (cfg.rrf_k + 1)
        ctx.rrf = {i: s / max_rrf for i, s in fused.items()}
        pool = sorted(fused, key=lambda i: -fused[i]) if cfg.fusion else list(active[0])
        stages.append(TraceStage("fusion", _ms(t), [
            StageCandidate(i, r, {"rrf": ctx.rrf[i]}) for r, i in enumerate(pool, 1)
        ], {"method": "rrf" if cfg.fusion else f"{cfg.retrievers[0]} only", "rrf_k": cfg.rrf_k,
            "retrievers": list(cfg.retrievers)}))

        t = time.perf_counter()
        ctx.keyword_df = self._keyword_df(ctx.query_keywords) if cfg.weights["entity"] > 0 else {}
        ids, rows, comps, _ = self._components(ctx, pool)  # a concurrent prune may have removed one
        passed, gated = _gate(cfg, ids, comps)
        ctx.gated_ids = set(gated)
        keep = np.flatnonzero(passed)
        ids, rows = [ids[n] for n in keep], rows.take(pa.array(keep, pa.int64()))
        comps = {c: v[passed] for c, v in comps.items()}
        if cfg.normalise == "minmax":
            for c in BASE_COMPONENTS:
                comps[c], lo, hi = scoring.minmax(comps[c])
                ctx.ranges[c] = (lo, hi)
        score = scoring.combine(comps, cfg.weights)
        ranked = _ranked(ids, comps, score)
        info = {"weights": dict(cfg.weights), "decay_model": cfg.decay_model, "normalise": cfg.normalise,
                "lexical_norm": cfg.lexical_norm, "gated": gated} | ctx.info()
        stages.append(TraceStage("scoring", _ms(t), ranked, info))

        if cfg.graph_hops:
            t = time.perf_counter()
            ranked, g_info, added_rows = self._graph_stage(ctx, ranked, where)
            rows = pa.concat_tables([rows, added_rows])
            stages.append(TraceStage("graph", _ms(t), ranked, g_info))
        final = ranked[: cfg.k]
        stages.append(TraceStage("final", 0.0, final, {"k": cfg.k}))
        row_at = {i: n for n, i in enumerate(rows.column("id").to_pylist())}
        hit_rows = rows.take(pa.array([row_at[c.id] for c in final], pa.int64())).to_pylist()
        hits = [
            Hit(memory_from_row(r), c.scores["score"], {k: v for k, v in c.scores.items() if k != "score"}, c.rank)
            for c, r in zip(final, hit_rows)
        ]

        cfg_dict = asdict(cfg) | {"weights": dict(cfg.weights), "retrievers": list(cfg.retrievers),
                                  "excluded": len(set(exclude_ids))}
        trace = Trace(uuid.uuid4().hex, query, cfg.k, now, cfg_dict, stages, _ms(t_start))
        self.store.append_events([{
            "op": "recall", "time_s": now, "memory_ids": [h.memory.id for h in hits],
            "payload": {"query": query, "trace": trace.to_dict()},
        }])
        if cfg.reinforce and hits:
            self.reinforce([h.memory.id for h in hits], reason="recall", trace_id=trace.id)
        return RecallResult(hits, trace)

    def explain(self, trace: Trace, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Score any memories for the query of ``trace`` as its recall would have, whether or not a retriever
        returned them: the answer to "why was it not retrieved?" for memories no stage lists.

        Uses the trace's configuration, clock time, full-text scores, pool ranges and keyword counts, and the
        memories as they are stored now. Returns per id: ``cosine`` (raw cosine similarity to the query, the
        vector retriever's measure), ``bm25`` (its full-text score for the query, None when no query term
        matches it), ``forgotten``, ``components`` (as the scoring stage computes them: lexical and rrf are 0
        outside the full-text and fused candidates), ``graph`` (its graph activation if the graph stage
        reached it), ``score`` (their weighted mean) and ``gated`` (the gate that would leave it out, or None).
        Records nothing. Raises UnknownMemoryError for an unknown id.
        """
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        cfg = RecallConfig(**{k: v for k, v in trace.config.items() if k in RecallConfig.__dataclass_fields__})
        cfg = replace(cfg, reinforce=False).validated()
        fulltext = _stage_or_none(trace, "fulltext")
        bm25 = {c.id: c.scores["bm25"] for c in fulltext.candidates} if fulltext else {}
        qvec = self.embedder.encode([trace.query])[0]
        ctx = _RecallContext.build(trace.query, qvec, trace.time_s, cfg, bm25)
        fusion = _stage_or_none(trace, "fusion")
        ctx.rrf = {c.id: c.scores["rrf"] for c in fusion.candidates} if fusion else {}
        info = _stage_or_none(trace, "scoring")
        info = info.info if info else {}
        ctx.ranges = {c: tuple(v) for c, v in info.get("ranges", {}).items()}
        ctx.keyword_df = info.get("keyword_df", {})
        found, rows, comps, cosine = self._components(ctx, ids)
        forgotten = rows.column("forgotten_time_s").is_valid().to_numpy(zero_copy_only=False)
        if missing := [i for i in ids if i not in set(found)]:
            raise UnknownMemoryError(missing)
        _, gated = _gate(cfg, found, comps)
        for c, (lo, hi) in ctx.ranges.items():
            comps[c] = scoring.minmax_scale(comps[c], lo, hi)
        graph_stage = _stage_or_none(trace, "graph")
        graph = {c.id: c.scores.get("graph", 0.0) for c in graph_stage.candidates} if graph_stage else {}
        comps["graph"] = np.array([graph.get(i, 0.0) for i in found])
        score = scoring.combine(comps, cfg.weights)
        t_ids, t_scores = self.store.text_search(trace.query, len(found), f"id IN ({sql_str_list(found)})")
        text_hits = {i: float(s) for i, s in zip(t_ids, t_scores)}
        return {
            i: {
                "cosine": float(cosine[n]), "bm25": text_hits.get(i),
                "forgotten": bool(forgotten[n]),
                "components": {c: float(comps[c][n]) for c in scoring.COMPONENTS}, "graph": graph.get(i),
                "score": float(score[n]), "gated": gated.get(i),
            }
            for n, i in enumerate(found)
        }

    def _components(
        self, ctx: _RecallContext, ids: Sequence[str]
    ) -> tuple[list[str], pa.Table, dict[str, np.ndarray], np.ndarray]:
        """Rows and raw components of the memories ``ids`` (those found, in the order given) for ``ctx``'s
        query. Returns (ids, rows (Arrow, every column but the vector), {component: array (n,)}, raw cosine
        (n,)); ``graph`` is all zeros. The rows come from the store's in-memory index: no table scan."""
        ids, tbl, vecs = self.store.rows(ids)
        cosine = vecs.astype(np.float64) @ ctx.qvec.astype(np.float64)
        last = _last_access(tbl)
        keywords = tbl.column("keywords").to_pylist() if ctx.keyword_df else [[]] * len(ids)
        comps = {
            "relevance": np.clip(cosine, 0.0, 1.0),
            "lexical": ctx.lexical(ids),
            "rrf": np.array([ctx.rrf.get(i, 0.0) for i in ids]),
            "recency": scoring.recency((ctx.now - last) / 3600.0),
            "importance": tbl.column("importance").to_numpy(zero_copy_only=False).astype(np.float64),
            "retention": self._retention(tbl, last, ctx.cfg.decay_model, ctx.now),
            "entity": ctx.entity([k or [] for k in keywords]),
            "graph": np.zeros(len(ids)),
        }
        return ids, tbl, comps, cosine

    def _keyword_df(self, keywords: Sequence[str]) -> dict[str, int]:
        """How many stored memories carry each keyword (mem0's "linked memories" of an entity); one scan."""
        if not keywords:
            return {}
        flat = pc.list_flatten(self.store.memories_table(columns=["keywords"]).column("keywords"))
        counts = pc.value_counts(pc.filter(flat, pc.is_in(flat, pa.array(list(keywords), pa.string()))))
        found = {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}
        return {kw: found.get(kw, 0) for kw in keywords}

    def _graph_stage(
        self, ctx: _RecallContext, ranked: list[StageCandidate], where: str | None
    ) -> tuple[list[StageCandidate], dict[str, Any], pa.Table]:
        """Spread activation from the best scored candidates over the links (treated as undirected, weighted).

        Seeds: the top ``graph_seeds`` of ``ranked``, with activation a0 = score / best score. Each hop h
        passes a_h = decay * W a_(h-1) along links of weight W (``"sum"``: summed over neighbours; ``"max"``:
        the strongest neighbour only). A memory's ``graph`` component is its total activation (its own a0 plus
        what reaches it; max or sum over hops, clipped at 1), so seeds rank before the notes they pass to.
        Linked memories outside the pool are scored like pool members and pass the same gates; their rows are
        returned with the new ranking and the stage's info. Spreading activation: Collins & Loftus (1975); in
        retrieval, Crestani (1997).
        """
        cfg = ctx.cfg
        seeds = ranked[: cfg.graph_seeds]
        top = max((c.scores["score"] for c in seeds), default=0.0)
        nodes = [c.id for c in seeds]
        index = {i: n for n, i in enumerate(nodes)}
        edges: dict[tuple[int, int], float] = {}
        frontier = list(nodes)
        for _ in range(cfg.graph_hops):
            if not frontier:
                break
            lst = sql_str_list(frontier)
            links = self.store.links_table(f"source_id IN ({lst}) OR target_id IN ({lst})")
            src, dst = links.column("source_id").to_pylist(), links.column("target_id").to_pylist()
            new = [i for i in dict.fromkeys(src + dst) if i not in index]
            if new and where:
                live = set(self.store.memories_table(
                    columns=["id"], where=f"id IN ({sql_str_list(new)}) AND {where}").column("id").to_pylist())
                new = [i for i in new if i in live]
            for i in new:
                index[i] = len(nodes)
                nodes.append(i)
            for s, d, w in zip(src, dst, links.column("weight").to_pylist()):
                if s in index and d in index and s != d:
                    key = (min(index[s], index[d]), max(index[s], index[d]))
                    edges[key] = max(edges.get(key, 0.0), float(w))
            frontier = new
        activation = _spread(len(nodes), edges, [index[c.id] for c in seeds],
                             np.array([c.scores["score"] / top if top > 0 else 0.0 for c in seeds]), cfg)

        # Memories the spread reached outside the pool: score them like pool members (same gates and ranges).
        known = {c.id for c in ranked}
        outside = [i for i in nodes if i not in known and i not in ctx.gated_ids]
        ids, rows, comps, _ = self._components(ctx, outside)
        passed, gated = _gate(cfg, ids, comps)
        for c, (lo, hi) in ctx.ranges.items():
            comps[c] = scoring.minmax_scale(comps[c], lo, hi)
        keep = np.flatnonzero(passed)
        new_ids = [ids[n] for n in keep]
        all_ids = [c.id for c in ranked] + new_ids
        all_comps = {
            c: np.concatenate([np.array([r.scores[c] for r in ranked]), comps[c][passed]]) for c in scoring.COMPONENTS
        }
        all_comps["graph"] = np.array([activation[index[i]] if i in index else 0.0 for i in all_ids])
        score = scoring.combine(all_comps, cfg.weights)
        info = {"seeds": [c.id for c in seeds], "hops": cfg.graph_hops, "decay": cfg.graph_decay,
                "aggregate": cfg.graph_aggregate, "links": len(edges), "reached": len(nodes) - len(seeds),
                "added": new_ids, "gated": gated}
        return _ranked(all_ids, all_comps, score), info, rows.take(pa.array(keep, pa.int64()))

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

    @_locked
    def _set_forgotten(self, ids, value, op, reason) -> list[str]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        ids_found, tbl, _ = self.store.rows(ids)
        found = dict(zip(ids_found, tbl.column("forgotten_time_s").to_pylist()))
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

    @_locked
    def prune(self, ids: Sequence[str]) -> int:
        """Hard-delete memories and their links (irreversible in the current version; older LanceDB versions
        still hold them). The pruned rows are recorded in a ``prune`` event. Returns the number removed."""
        mems = self.store.get(list(dict.fromkeys(ids)))
        if not mems:
            return 0
        versions = self.store.delete_memories([m.id for m in mems])
        self.store.append_events([{
            "op": "prune", "time_s": self.clock.now(), "memory_ids": [m.id for m in mems],
            "payload": {"memories": [{"id": m.id, "text": m.text, "speaker": m.speaker, "session_id": m.session_id,
                                      "source_id": m.source_id} for m in mems], "store_versions": versions},
        }])
        return len(mems)

    @_locked
    def restore_version(self, version: int) -> dict[str, Any]:
        """Restore the memories and links to their state at memories-table ``version`` (see
        :meth:`MemoryStore.restore_version`), recorded as a ``restore_version`` event at the engine clock.
        Returns the event's payload. Raises StoreError for an unknown version."""
        return self.store.restore_version(version, self.clock.now())

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


@dataclass
class _Batch:
    """One checked batch of a write, ready to embed: inputs, normalised texts and ids of the memories to
    write (duplicates left out, their ids in ``skipped``), and the stage timings so far (ms)."""

    inputs: list[MemoryInput]
    texts: list[str]
    ids: list[str]
    skipped: list[str]
    timings: dict[str, float]
    on_duplicate: OnDuplicate = "error"

    def without(self, stored: set[str], how: str) -> tuple[_Batch, list[int]]:
        """This batch without the memories whose ids are ``stored`` (their ids move to ``skipped``), and the
        positions of those kept. Raises DuplicateMemoryError, saying the ids were ``how`` (e.g. "already
        stored"), if there are any and the batch's ``on_duplicate`` is "error"."""
        keep = [n for n, i in enumerate(self.ids) if i not in stored]
        if len(keep) == len(self.ids):
            return self, keep
        if self.on_duplicate == "error":
            raise DuplicateMemoryError(
                f"{len(self.ids) - len(keep)} memory id(s) {how}, e.g. {sorted(set(self.ids) & stored)[0]}; "
                "nothing was written"
            )
        return replace(self, inputs=[self.inputs[n] for n in keep], texts=[self.texts[n] for n in keep],
                       ids=[self.ids[n] for n in keep],
                       skipped=self.skipped + [i for i in self.ids if i in stored]), keep


@dataclass
class _RecallContext:
    """What scoring a memory for one query needs besides the memory: the query, the clock time, the
    full-text candidates' BM25, the fused candidates' RRF, keyword counts and the pool's min-max ranges."""

    query: str
    qvec: np.ndarray
    now: float
    cfg: RecallConfig
    bm25: dict[str, float]
    n_terms: int
    query_keywords: list[str]
    rrf: dict[str, float] = field(default_factory=dict)
    keyword_df: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    gated_ids: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, query: str, qvec: np.ndarray, now: float, cfg: RecallConfig, bm25: dict[str, float]) -> _RecallContext:
        keywords = text_mod.keywords(query) if cfg.weights["entity"] > 0 else []
        return cls(query, qvec, now, cfg, bm25, len(text_mod.content_words(query)), keywords)

    def lexical(self, ids: Sequence[str]) -> np.ndarray:
        """The lexical component: full-text candidates' BM25, max- or sigmoid-normalised; 0 for others."""
        raw = np.array([self.bm25.get(i, 0.0) for i in ids], dtype=np.float64)
        if self.cfg.lexical_norm == "sigmoid":
            matched = np.array([i in self.bm25 for i in ids], dtype=bool)
            return np.where(matched, scoring.sigmoid_bm25(raw, self.n_terms), 0.0)
        top = max(self.bm25.values(), default=0.0)
        return raw / top if top > 0 else np.zeros(len(raw))

    def entity(self, keyword_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """mem0's entity boost with keywords as entities (a modelling choice: mem0 extracts entities with
        spaCy): the best spread-attenuated weight of a query keyword the memory carries; 0 if none."""
        weight = {kw: float(scoring.entity_spread(df)) for kw, df in self.keyword_df.items() if df > 0}
        if not weight:
            return np.zeros(len(keyword_lists))
        return np.array([max((weight.get(k, 0.0) for k in kws), default=0.0) for kws in keyword_lists])

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n_terms": self.n_terms, "query_keywords": self.query_keywords,
                               "keyword_df": self.keyword_df}
        if self.ranges:
            out["ranges"] = {c: list(v) for c, v in self.ranges.items()}
        return out


def _checked_text(n: int, item: MemoryInput) -> str:
    """The normalised text of item ``n`` of a write; raises EmptyTextError / TextTooLongError naming the item,
    ConfigError for an unknown kind or a string field that is not valid Unicode (a lone surrogate)."""
    try:
        text = text_mod.normalise(item.text)
    except (EmptyTextError, text_mod.TextTooLongError) as e:
        raise type(e)(f"item {n} ({item.source_id or item.id or 'no id'}): {e}") from None
    if item.kind not in MEMORY_KINDS:
        raise ConfigError(f"item {n}: unknown memory kind {item.kind!r}; known: {', '.join(MEMORY_KINDS)}")
    for name in ("id", "speaker", "session_id", "source_id", "dataset"):
        value = getattr(item, name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(f"item {n}: {name} {value!r} is not valid Unicode (a lone surrogate)") from None
    return text


def _gate(cfg: RecallConfig, ids: Sequence[str], comps: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply ``min_relevance`` and ``min_retention`` to raw components: (passed mask, {id: why gated})."""
    passed = np.ones(len(ids), dtype=bool)
    gated: dict[str, Any] = {}
    for comp, threshold in (("relevance", cfg.min_relevance), ("retention", cfg.min_retention)):
        if threshold > 0:
            low = np.asarray(comps[comp]) < threshold
            for n in np.flatnonzero(low & passed):
                gated[ids[n]] = {"component": comp, "value": float(comps[comp][n]), "threshold": float(threshold)}
            passed &= ~low
    return passed, gated


def _ranked(ids: Sequence[str], comps: Mapping[str, np.ndarray], score: np.ndarray) -> list[StageCandidate]:
    """Candidates sorted by score (ties keep their order), with every component and the score."""
    order = np.argsort(-score, kind="stable")
    return [
        StageCandidate(ids[n], rank, {c: float(comps[c][n]) for c in scoring.COMPONENTS} | {"score": float(score[n])})
        for rank, n in enumerate(order, 1)
    ]


def _spread(n: int, edges: Mapping[tuple[int, int], float], seeds: Sequence[int], a0: np.ndarray,
            cfg: RecallConfig) -> np.ndarray:
    """Total activation (n,) in [0, 1] after ``cfg.graph_hops`` hops over undirected weighted ``edges``."""
    a = np.zeros(n)
    a[list(seeds)] = a0
    total = a.copy()
    if not edges:
        return np.clip(total, 0.0, 1.0)
    pairs = np.array(list(edges), dtype=np.int64)
    i, j = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    w = np.tile(np.array(list(edges.values()), dtype=np.float64), 2)
    for _ in range(cfg.graph_hops):
        passed = w * a[j]  # what node i receives from neighbour j along each directed half-edge
        if cfg.graph_aggregate == "sum":
            a = cfg.graph_decay * np.bincount(i, weights=passed, minlength=n)
            total = total + a
        else:
            a = np.zeros(n)
            np.maximum.at(a, i, passed)
            a *= cfg.graph_decay
            total = np.maximum(total, a)
    return np.clip(total, 0.0, 1.0)


def _stage_or_none(trace: Trace, name: str) -> TraceStage | None:
    return next((s for s in trace.stages if s.name == name), None)


def _last_access(tbl: pa.Table) -> np.ndarray:
    """When decay counts from, per row of memories ``tbl``: the latest of the event (or creation) time and the
    last recall (POSIX s, shape (n,); NaN when none is known)."""
    base = pc.coalesce(tbl.column("event_time_s"), tbl.column("created_time_s")).to_numpy(zero_copy_only=False)
    recalled = tbl.column("last_recalled_s").fill_null(np.nan).to_numpy(zero_copy_only=False)
    return np.fmax(np.asarray(base, np.float64), np.asarray(recalled, np.float64))


def _top_columns(sims: np.ndarray, top: int) -> np.ndarray:
    """Column positions of the ``top`` largest values of each row of ``sims`` (shape (n, m)), largest first:
    a partition then a sort of ``top`` values per row (O(m) per row, not O(m log m) as a full sort)."""
    n, m = sims.shape
    if top <= 0 or n == 0:
        return np.zeros((n, 0), dtype=int)
    if top >= m:
        return np.argsort(-sims, axis=1)
    part = np.argpartition(-sims, top - 1, axis=1)[:, :top]
    vals = np.take_along_axis(sims, part, axis=1)
    return np.take_along_axis(part, np.argsort(-vals, axis=1, kind="stable"), axis=1)


_WORKERS: dict[tuple[int, str], Any] = {}  # (pid, name) -> executor


def _worker(name: str):
    """One worker thread per job kind (``"keywords"`` of writes, ``"fulltext"`` of recalls), created on first
    use and again in a forked child, which does not inherit the parent's threads. Separate per kind, so a
    recall's full-text search never queues behind a long ingest's keyword batch."""
    import os

    key = (os.getpid(), name)
    if key not in _WORKERS:
        from concurrent.futures import ThreadPoolExecutor

        _WORKERS[key] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"memviz-{name}")
    return _WORKERS[key]


def _keywords_importance(texts: Sequence[str]) -> tuple[list[list[str]], list[tuple[float, dict[str, float]]], float]:
    """Keywords and importance of each text, and the ms they took."""
    t = time.perf_counter()
    kws = [text_mod.keywords(tx) for tx in texts]
    imps = [text_mod.importance(tx) for tx in texts]
    return kws, imps, _ms(t)


def _trim_heap() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere). The encoder, the
    keyword thread and LanceDB's threads each keep freed memory in their own malloc arenas: without this, a
    15k-memory ingest grew to 2.3 GB of RSS though its live memory stays under 0.9 GB (Dask workers trim the
    same way)."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None. Looked up once: ``ctypes.util.find_library`` runs ``ldconfig -p`` in a
    child process, which a long-lived, many-threaded app process should not fork per ingest window."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _timed(fn, *args):
    """``(fn(*args), milliseconds it took)``."""
    t = time.perf_counter()
    return fn(*args), _ms(t)


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
    "BASE_COMPONENTS", "RETRIEVERS", "STAGES", "LinkConfig", "MemoryEngine", "RecallConfig", "clock_start_for",
    "embedding_text", "open_engine",
]
