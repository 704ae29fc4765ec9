"""Writing memories: check and normalise a batch, embed it with its keywords and importance, link it, and
commit it all or nothing; ingest many batches in embedding windows.

A batch goes through :meth:`Writer.prepare` (text checks, ids, duplicates), :meth:`Writer.embed` (one encoder
call per window, keywords in a worker thread beside it) and :meth:`Writer.commit` (links, rows, events; under
the store's write lock). The store commits a batch by its events (see :mod:`memviz.store.store`).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from memviz import decay as decay_mod
from memviz import text as text_mod
from memviz.clock import Clock
from memviz.context import contexts, encoder_text, stored_turns
from memviz.embed import Embedder
from memviz.errors import ConfigError, DuplicateMemoryError, EmptyTextError
from memviz.events import Event, ForgetEvent, ImportEvent, LinkEvent, UpdateEvent, WriteEvent
from memviz.filters import MemoryFilter
from memviz.limits import MAX_CHARS, check_time, length_problem, scope_problem, time_problem
from memviz.linking import DEFAULT_LINK_SCOPE, LinkConfig, LinkScope, Prior, link, scope_of
from memviz.models import MEMORY_KINDS, Link, MemoryInput, WriteItemReport, WriteReport
from memviz.store import LINKS_SCHEMA, MemoryStore
from memviz.store.tables import CONTEXT_COLUMN
from memviz.workers import ms_since, worker

OnDuplicate = Literal["error", "skip"]
Progress = Callable[[int, int], None]


@dataclass
class Batch:
    """One checked batch of a write, ready to embed: inputs, normalised texts and ids of the memories to
    write (duplicates left out, their ids in ``skipped``), and the stage timings so far (ms)."""

    inputs: list[MemoryInput]
    texts: list[str]
    ids: list[str]
    skipped: list[str]
    timings: dict[str, float]
    on_duplicate: OnDuplicate = "error"

    def without(self, stored: set[str], how: str) -> tuple[Batch, list[int]]:
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
        return replace(
            self,
            inputs=[self.inputs[n] for n in keep],
            texts=[self.texts[n] for n in keep],
            ids=[self.ids[n] for n in keep],
            skipped=self.skipped + [i for i in self.ids if i in stored],
        ), keep


@dataclass
class Embedded:
    """A window's embeddings (unit rows, shape (n, dim)), keywords, (importance, parts) and context (None
    without one, :mod:`memviz.context`) per text."""

    vecs: np.ndarray
    keywords: list[list[str]]
    importance: list[tuple[float, dict[str, float]]]
    contexts: list[str | None]

    def slice(self, keep: Sequence[int] | slice) -> Embedded:
        if isinstance(keep, slice):
            return Embedded(self.vecs[keep], self.keywords[keep], self.importance[keep], self.contexts[keep])
        return Embedded(
            self.vecs[list(keep)],
            [self.keywords[n] for n in keep],
            [self.importance[n] for n in keep],
            [self.contexts[n] for n in keep],
        )


def checked_text(n: int, item: MemoryInput) -> str:
    """The normalised text of item ``n`` of a write (its own text when ``item.verbatim``, still checked as if it
    were normalised), once the whole item is checked; raises EmptyTextError /
    TextTooLongError naming the item, ConfigError (naming the item) for an unknown kind, a string field that is
    not valid Unicode (a lone surrogate), an id, speaker, session or source id longer than
    :data:`memviz.limits.MAX_CHARS` allows, a scope :func:`memviz.limits.scope_problem` refuses, or an event
    time outside :data:`memviz.limits.TIME_RANGE`."""
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
    for name in MAX_CHARS:
        value = getattr(item, name)
        if (problem := length_problem(name, value if isinstance(value, str) else None)) is not None:
            raise ConfigError(f"item {n} ({_short(item.id)}): {problem}")
    if (problem := scope_problem(item.scope)) is not None:
        raise ConfigError(f"item {n} ({_short(item.id)}): {problem}")
    if item.event_time_s is not None and (problem := time_problem(float(item.event_time_s))) is not None:
        raise ConfigError(f"item {n} ({_short(item.id)}): event {problem}")
    return item.text if item.verbatim else text


def _short(memory_id: str | None, limit: int = 60) -> str:
    """A memory id for a message: ``'no id'``, or its first ``limit`` characters."""
    if not memory_id:
        return "no id"
    return repr(memory_id if len(memory_id) <= limit else memory_id[:limit] + "...")


def check_unique_ids(items: Sequence[MemoryInput], start: int = 0) -> None:
    """Raise DuplicateMemoryError when two of ``items`` (numbered from ``start``) have the same id, naming both
    items: a write must say so before anything is written, not store the first and skip the second as
    "already stored"."""
    first: dict[str, int] = {}
    for n, item in enumerate(items, start):
        if item.id is None:
            continue
        if (m := first.setdefault(item.id, n)) != n:
            raise DuplicateMemoryError(
                f"item {n}: id {_short(item.id)} is also the id of item {m}; ids must be unique, nothing was written"
            )


class Writer:
    """Writes batches into ``store`` with ``embedder``, at ``clock`` time, linked as ``link_config()`` says;
    commits hold the store's write lock (a batch's links must see every batch committed before it)."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        clock: Clock,
        link_config: Callable[[], LinkConfig],
    ):
        self.store, self.embedder, self.clock, self.link_config = store, embedder, clock, link_config
        # {id: (link scope, content words)} of stored memories, for linking (a memory's text, scope, dataset and
        # session never change): read from the store once, then kept up to date by this writer's commits.
        self._facts: dict[str, tuple[LinkScope, int]] = {}

    def write(
        self,
        items: Sequence[MemoryInput | str],
        on_duplicate: OnDuplicate = "error",
        source: Mapping[str, Any] | None = None,
    ) -> WriteReport:
        """One batch, all or nothing (see :meth:`memviz.engine.MemoryEngine.write`)."""
        batch = self.prepare(items, on_duplicate)
        return self.commit(batch, self.embed([batch]), source)

    def prepare(self, items: Sequence[MemoryInput | str], on_duplicate: OnDuplicate, start: int = 0) -> Batch:
        """Check, normalise and de-duplicate one batch (its items numbered from ``start`` in messages). An id
        repeated in the batch is a DuplicateMemoryError; ids already stored are skipped or refused, as
        ``on_duplicate`` says. The clock must be in :data:`memviz.limits.TIME_RANGE` (ConfigError)."""
        t0 = time.perf_counter()
        check_time(self.clock.now(), "the clock")
        inputs = [MemoryInput(text=i) if isinstance(i, str) else i for i in items]
        texts = [checked_text(start + n, item) for n, item in enumerate(inputs)]
        check_unique_ids(inputs, start)
        ids = [i.id or uuid.uuid4().hex for i in inputs]
        batch = Batch(inputs, texts, ids, [], {}, on_duplicate)
        batch, _ = batch.without(self.store.existing_ids(ids), "already stored")
        batch.timings["normalise_ms"] = ms_since(t0)
        return batch

    def embed(self, batches: Sequence[Batch]) -> Embedded:
        """Embeddings (one encoder call for all ``batches``: it sorts the texts by length, so the fewer the
        calls, the less padding), keywords and importance of the batches' texts, concatenated in order. Adds
        each batch's share of the time to its ``timings``."""
        texts = [tx for b in batches for tx in b.texts]
        inputs = [i for b in batches for i in b.inputs]
        # Keywords and importance (pure Python, YAKE) run in a worker thread while the encoder (torch, which
        # releases the GIL) embeds the texts, so they hide behind the encoder (see docs/performance.md).
        t = time.perf_counter()
        kw_job = worker("keywords").submit(_keywords_importance, texts)
        ctxs = contexts(inputs, texts, self.store.settings.context, functools.partial(stored_turns, self.store))
        vecs = self.embedder.encode(
            [encoder_text(tx, i.speaker, c) for tx, i, c in zip(texts, inputs, ctxs, strict=True)]
        )
        embed_ms = ms_since(t)
        t = time.perf_counter()
        kws, imps, kw_ms = kw_job.result()
        wait_ms = ms_since(t)
        for b in batches:
            share = len(b.texts) / max(1, len(texts))
            b.timings |= {
                "embed_ms": embed_ms * share,
                "keywords_wait_ms": wait_ms * share,  # what the keywords added after the encoder
                "keywords_importance_ms": kw_ms * share,
            }  # their own time, overlapped with embed_ms
        return Embedded(vecs, kws, imps, ctxs)

    def commit(self, batch: Batch, emb: Embedded, source: Mapping[str, Any] | None) -> WriteReport:
        """Link and store one prepared batch with its embeddings, keywords and importance (all or nothing).
        Ids that another writer stored since the batch was prepared are skipped or refused, as the batch's
        ``on_duplicate`` says."""
        with self.store.lock.hold():
            return self._commit(batch, emb, source)

    def _commit(self, batch: Batch, emb: Embedded, source: Mapping[str, Any] | None) -> WriteReport:
        t0 = time.perf_counter()
        batch, keep = batch.without(self.store.existing_ids(batch.ids), "were stored meanwhile")
        if len(keep) < len(emb.vecs):
            emb = emb.slice(keep)
        inputs, texts, ids, timings = batch.inputs, batch.texts, batch.ids, batch.timings
        now = self.clock.now()
        batch_id = uuid.uuid4().hex
        importance = np.array([p[0] for p in emb.importance], dtype=np.float64)
        stability = decay_mod.initial_stability_days(importance)

        t = time.perf_counter()
        cfg = self.link_config()
        prior = self._prior(inputs, cfg, keywords=cfg.keyword_top_n > 0 and any(emb.keywords))
        # The normalised texts are what is stored and what the small-talk rule reads.
        normalised = [replace(i, text=tx) for i, tx in zip(inputs, texts, strict=True)]
        links, neighbours = link(ids, normalised, emb.keywords, emb.vecs, prior, cfg, now, batch_id)
        self._neighbour_texts(neighbours, dict(zip(ids, texts, strict=True)))
        timings["link_ms"] = ms_since(t)

        t = time.perf_counter()
        by_source: dict[str, list[Link]] = defaultdict(list)
        for lk in links:
            by_source[lk.source_id].append(lk)
        reports = [
            WriteItemReport(
                id=ids[n],
                text=texts[n],
                keywords=emb.keywords[n],
                importance=float(importance[n]),
                importance_parts=emb.importance[n][1],
                stability_days=float(stability[n]),
                neighbours=neighbours[n],
                links=by_source[ids[n]],
                context=emb.contexts[n],
            )
            for n in range(len(ids))
        ]
        if ids:
            events: list[Event] = [
                WriteEvent(
                    time_s=now if i.written_s is None else i.written_s,
                    memory_ids=(r.id,),
                    batch_id=batch_id,
                    text=i.first_text or r.text,
                    keywords=r.keywords,
                    importance=r.importance,
                    stability_days=r.stability_days,
                    n_links=len(r.links),
                )
                for r, i in zip(reports, inputs, strict=True)
            ]
            events += _history_events(ids, inputs, batch_id)
            if links:
                events.append(
                    LinkEvent(
                        time_s=now,
                        memory_ids=tuple(ids),
                        batch_id=batch_id,
                        links=[[lk.source_id, lk.target_id, lk.kind, round(lk.weight, 4)] for lk in links],
                    )
                )
            if source is not None:
                events.append(
                    ImportEvent(
                        time_s=now,
                        batch_id=batch_id,
                        source=dict(source),
                        n_written=len(ids),
                        n_skipped=len(batch.skipped),
                    )
                )
            rows = _memory_rows(ids, texts, inputs, emb, importance, stability, now, batch_id, self.store)
            link_rows = pa.Table.from_pylist([asdict(lk) for lk in links], schema=LINKS_SCHEMA)
            self.store.commit_batch(batch_id, rows, link_rows, events)
            self._facts.update(
                (i, (scope_of(m.scope, m.dataset, m.session_id), len(text_mod.content_words(m.text))))
                for i, m in zip(ids, normalised, strict=True)
            )
        timings["store_ms"] = ms_since(t)
        # This batch's own steps plus its share of the window's embedding (keywords_importance_ms overlapped it).
        timings["total_ms"] = timings["normalise_ms"] + timings["embed_ms"] + timings["keywords_wait_ms"] + ms_since(t0)
        return WriteReport(batch_id=batch_id, items=reports, timings_ms=timings, skipped_ids=batch.skipped)

    def ingest(
        self,
        items: Sequence[MemoryInput],
        batch_size: int = 256,
        on_duplicate: OnDuplicate = "skip",
        source: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        embed_window: int = 2048,
    ) -> list[WriteReport]:
        """Many memories in batches of ``batch_size``, each all or nothing, embedded ``embed_window`` at a time
        (see :meth:`memviz.engine.MemoryEngine.ingest`). Every item is checked before the first batch is
        written, ids unique across all of them included, so a bad item in a late batch writes nothing."""
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        check_time(self.clock.now(), "the clock")
        inputs = [MemoryInput(text=item) if isinstance(item, str) else item for item in items]
        for n, item in enumerate(inputs):
            checked_text(n, item)
        check_unique_ids(inputs)
        reports = []
        total = len(items)
        window = max(batch_size, embed_window)
        with self.store.deferred_text_index():  # one full-text index build at the end, not one per batch
            for w in range(0, total, window):
                # Prepare the window's batches, embed them in one encoder call, then commit them one by one.
                batches = [
                    self.prepare(inputs[start : start + batch_size], on_duplicate, start)
                    for start in range(w, min(total, w + window), batch_size)
                ]
                emb = self.embed(batches)
                at = 0
                for n, b in enumerate(batches):
                    end = at + len(b.ids)
                    reports.append(self.commit(b, emb.slice(slice(at, end)), source))
                    at = end
                    if progress:
                        progress(min(w + (n + 1) * batch_size, total), total)
                _trim_heap()
        return reports

    def _prior(self, inputs: Sequence[MemoryInput], cfg: LinkConfig, keywords: bool) -> Prior:
        """What a batch links to: the live memories of the batch's scopes (a link never crosses scopes, so the
        others are not read: in a store of many scopes a batch costs what its scopes hold, and a scope links as
        it would in a store of its own): their vectors (and keywords, when ``keywords``), link scopes and short
        ones, and each of the batch's sessions' latest stored turn."""
        live = MemoryFilter(forgotten=False, scopes=sorted({i.scope for i in inputs}))
        ids, vecs = self.store.vectors(live)
        facts = self._stored_facts(ids, live)
        scopes = {i: f[0] for i, f in facts.items() if f[0] != DEFAULT_LINK_SCOPE}
        short = {i for i, f in facts.items() if f[1] <= cfg.short_words}
        kw = self.store.memories_table(columns=["id", "keywords"], where=live) if keywords else None
        last: dict[tuple[str, str], str] = {}
        sessions = sorted({i.session_id for i in inputs if i.session_id})
        if sessions:
            tbl = self.store.memories_table(
                columns=["id", "scope", "session_id", "event_time_s", "created_time_s"],
                where=MemoryFilter(sessions=sessions, scopes=sorted({i.scope for i in inputs})),
            )
            if tbl.num_rows:
                df = tbl.to_pandas()
                df["t"] = df["event_time_s"].fillna(df["created_time_s"])
                latest = df.loc[df.groupby(["scope", "session_id"])["t"].idxmax()]
                keys = zip(latest["scope"], latest["session_id"], strict=True)
                last = dict(zip(keys, latest["id"], strict=True))
        if kw is None:
            return Prior(ids, vecs, last, scopes=scopes, short=short)
        return Prior(
            ids,
            vecs,
            last,
            kw.column("id").to_pylist(),
            [set(k or []) for k in kw.column("keywords").to_pylist()],
            scopes,
            short,
        )

    def _stored_facts(self, ids: Sequence[str], live: MemoryFilter) -> dict[str, tuple[LinkScope, int]]:
        """{id: (link scope, content words)} of the stored memories ``ids`` (:func:`memviz.linking.scope_of`,
        :func:`memviz.text.content_words`),
        from this writer's cache; the ones it lacks are read in one query (all ``live`` memories when many are
        missing, e.g. the first write after opening a store)."""
        missing = [i for i in ids if i not in self._facts]
        if missing:
            where = live if len(missing) > 500 else MemoryFilter(ids=missing)
            columns = ["id", "text", "scope", "session_id", "dataset"]
            tbl = self.store.memories_table(columns=columns, where=where)
            for i, tx, sc, s, d in zip(*(tbl.column(c).to_pylist() for c in columns)):
                self._facts[i] = (scope_of(sc, d, s), len(text_mod.content_words(tx)))
        return {i: self._facts.get(i, (DEFAULT_LINK_SCOPE, 99)) for i in ids}

    def _neighbour_texts(self, neighbours: list[list[dict[str, Any]]], new_text: dict[str, str]) -> None:
        """Add each neighbour's text (new ones are known; stored ones are read in one query)."""
        stored = {d["id"] for nb in neighbours for d in nb} - set(new_text)
        if stored:
            tbl = self.store.memories_table(columns=["id", "text"], where=MemoryFilter(ids=sorted(stored)))
            new_text = new_text | dict(zip(tbl.column("id").to_pylist(), tbl.column("text").to_pylist(), strict=True))
        for nb in neighbours:
            for d in nb:
                d["text"] = new_text.get(d["id"], "")


def _history_events(ids: Sequence[str], inputs: Sequence[MemoryInput], batch_id: str) -> list[Event]:
    """The ``update`` and ``forget`` events of the imported memories' histories (:attr:`MemoryInput.history`),
    each at its source's time, in time order (a memory's own in its history's order)."""
    out: list[Event] = []
    for memory_id, item in zip(ids, inputs, strict=True):
        for c in item.history:
            if c.op == "update":
                out.append(
                    UpdateEvent(
                        time_s=c.time_s,
                        memory_ids=(memory_id,),
                        batch_id=batch_id,
                        text=c.text,
                        old_text=c.old_text,
                        reason=c.reason,
                    )
                )
            else:
                out.append(ForgetEvent(time_s=c.time_s, memory_ids=(memory_id,), batch_id=batch_id, reason=c.reason))
    return sorted(out, key=lambda e: e.time_s)


def _forgotten_s(item: MemoryInput) -> float | None:
    """When an imported memory was forgotten (deleted in its source): its history's last change, if a forget."""
    return item.history[-1].time_s if item.history and item.history[-1].op == "forget" else None


def _memory_rows(ids, texts, inputs, emb: Embedded, importance, stability, now, batch_id, store) -> pa.Table:
    """The batch's rows in the store's memories schema (its vector dimension; the context column when the store
    has one)."""
    event_times = [i.event_time_s for i in inputs]
    vecs = emb.vecs
    schema = store.memories.schema
    context = {CONTEXT_COLUMN: pa.array(emb.contexts, pa.string())} if store.has_context else {}
    return pa.table(
        {
            "id": ids,
            "text": texts,
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vecs.reshape(-1), pa.float32()), vecs.shape[1] if len(vecs) else store.dim
            ),
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
            "forgotten_time_s": pa.array([_forgotten_s(i) for i in inputs], pa.float64()),
            "keywords": pa.array(emb.keywords, pa.list_(pa.string())),
            "access_times_s": pa.array([[et if et is not None else now] for et in event_times], pa.list_(pa.float64())),
            "batch_id": [batch_id] * len(ids),
            "metadata": [None if i.metadata is None else json.dumps(i.metadata, default=str) for i in inputs],
            "scope": [i.scope for i in inputs],
        }
        | context,
        schema=schema,
    )


def _keywords_importance(texts: Sequence[str]) -> tuple[list[list[str]], list[tuple[float, dict[str, float]]], float]:
    """Keywords and importance of each text, and the ms they took."""
    t = time.perf_counter()
    kws = [text_mod.keywords(tx) for tx in texts]
    imps = [text_mod.importance(tx) for tx in texts]
    return kws, imps, ms_since(t)


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
