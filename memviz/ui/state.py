"""The engine shared by every page (one per store and process) and the shared sidebar."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from memviz.engine import MemoryEngine, open_engine
from memviz.errors import MemvizError, StoreNotFoundError
from memviz.limits import TIME_RANGE, time_problem
from memviz.store import default_db_uri
from memviz.ui import jobs
from memviz.ui.inert import inert


@st.cache_resource(show_spinner=False)
def app_icon():
    """The tab icon, drawn here (a PIL image, served by the app itself): a ":material/...:" page icon makes the
    browser fetch it from Google's font CDN, and the app is meant to work offline and reach no other host."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, 60, 60), fill="#636efa")
    for x, y in ((20, 22), (44, 22), (32, 44)):  # three linked memories
        d.line((32, 44, x, y), fill="white", width=3)
        d.ellipse((x - 6, y - 6, x + 6, y + 6), fill="white")
    return img


def db_uri() -> str:
    """The store the app shows: chosen in the sidebar, else $MEMVIZ_DB, else .memviz."""
    return st.session_state.get("db_uri") or default_db_uri()


def is_default_store(uri: str) -> bool:
    """Whether ``uri`` is the app's own store ($MEMVIZ_DB, else .memviz): the one store the app creates and
    seeds. Another path typed into the sidebar must hold a store already (a typo creates nothing)."""
    same = os.path.abspath if "://" not in uri else str
    return same(uri) == same(default_db_uri())


@st.cache_resource(show_spinner="Opening the memory store ...", max_entries=16)
def _engine(uri: str, _seed: bool = False) -> MemoryEngine:
    """Keyed on ``uri`` only (streamlit does not hash ``_``-arguments). ``_seed``: the app's own store, created
    if missing and, when empty, seeded with the demo conversation by a background job (:func:`seed_demo`), so
    the first page draws at once and shows the seeding's stages; any other store must exist
    (StoreNotFoundError). Not cached on error. Opening loads no model: it loads on the first embedding (an
    embedder other than the packaged MiniLM, $MEMVIZ_EMBEDDER or the store's own, and a reranker,
    $MEMVIZ_RERANKER, load here; see ``memviz app --embedder / --reranker``)."""
    engine = open_engine(
        uri,
        create=_seed,
        embedder=os.environ.get("MEMVIZ_EMBEDDER") or None,
        reranker=os.environ.get("MEMVIZ_RERANKER") or None,
    )
    if _seed and engine.stats()["memories"] == 0:
        seed_demo(engine, uri)
    return engine


def seed_demo(engine: MemoryEngine, uri: str):
    """Seed the empty store ``uri`` with the built-in demo conversation as a background job (key ``uri``, so the
    Memories page shows its progress): first "loading the embedding model", then "embedding and writing n of
    N". Returns the job."""
    from memviz.demo import DEMO_FORMAT, DEMO_PATH, seed_if_empty
    from memviz.importers import load

    total = len(load(DEMO_PATH, DEMO_FORMAT))

    def work(job: jobs.Job) -> tuple[int, str]:
        job.progress(0, total, "loading the embedding model")
        if (load_model := getattr(engine.embedder, "load", None)) is not None:
            load_model()
        job.progress(0, total, "embedding and writing")  # one batch: the next report comes when it is written
        n = seed_if_empty(engine, progress=lambda done, all_: job.progress(done, all_, "embedding and writing"))
        return n, f"The demo conversation is ready: {n:,} memories written ({job.elapsed_s:,.1f} s)."

    return jobs.start(uri, "seeding the demo conversation", total, work)


def get_engine(uri: str | None = None) -> MemoryEngine:
    """The engine of store ``uri`` (default: the app's store, :func:`db_uri`), created once per store and
    process (one ``st.cache_resource`` for the app's store and the evaluation stores; the embedding model is
    shared). The default store ($MEMVIZ_DB, else .memviz) is created if missing and seeded with the demo
    conversation when empty; a store chosen in the sidebar or given as ``uri`` must exist. When the app's store
    cannot be opened (missing, damaged, unreadable) the error is shown in one line and the page stops; for a
    given ``uri`` it is raised (MemvizError)."""
    if uri is not None:
        return _engine(str(uri))
    app_uri = db_uri()
    try:
        return _engine(app_uri, _seed=is_default_store(app_uri))
    except MemvizError as e:
        st.error(f"Cannot open the memory store: {e}", icon=":material/error:")
        st.stop()
        raise  # unreachable: st.stop() ends the run


RULE_KEY = "reinforce_rule"  # this session's reinforcement rule, set on the Forgetting page


def acting_engine(engine: MemoryEngine) -> MemoryEngine:
    """``engine`` with this session's reinforcement rule (the Forgetting page's sliders; default: the engine's
    own): what a reinforcing action of this session (a button, a recall, a replay) goes through."""
    rule = st.session_state.get(RULE_KEY)
    return engine if rule is None else engine.with_rule(rule)


def store_engine(uri: str) -> MemoryEngine | None:
    """The engine of an existing store ``uri`` (an evaluation's store), or None when there is none; a store
    that cannot be opened (damaged) is named in a warning and None is returned."""
    if not Path(uri).is_dir() and "://" not in uri:
        return None
    try:
        return get_engine(uri)
    except StoreNotFoundError:
        return None
    except MemvizError as e:
        st.warning(f"The store {uri} cannot be opened: {e}")
        return None


def fmt_time(t_s: float | None) -> str:
    """POSIX seconds as ``YYYY-MM-DD HH:MM`` (UTC); empty for None/NaN."""
    if t_s is None or math.isnan(t_s):
        return ""
    return datetime.fromtimestamp(t_s, tz=UTC).strftime("%Y-%m-%d %H:%M")


SCOPE_KEY = "scope"  # the sidebar's scope selector
ALL_SCOPES = "*"  # its "All scopes" choice (no scope can be "*": memviz.limits.SCOPE_CHARSET)


def current_scope() -> str | None:
    """The scope the sidebar's selector chose (``""``: the default scope), None for "All scopes": what every
    page passes to its engine, read and figure calls."""
    chosen = st.session_state.get(SCOPE_KEY, ALL_SCOPES)
    return None if chosen == ALL_SCOPES else chosen


def scope_label(scope: str, counts: dict[str, int]) -> str:
    """A scope as the selector lists it: its name (``(default scope)`` for ``""``), or "All scopes" for
    :data:`ALL_SCOPES`, with its number of memories."""
    if scope == ALL_SCOPES:
        return f"All scopes · {sum(counts.values()):,}"
    return f"{scope or '(default scope)'} · {counts.get(scope, 0):,}"


def _scope_selector(counts: dict[str, int]) -> None:
    """The scope selector (:data:`SCOPE_KEY`): "All scopes" and each scope of the store with its count, shown
    when the store has a scope besides the default one; a choice the store no longer has (another store
    opened) goes back to "All scopes"."""
    options = [ALL_SCOPES, *counts]
    if st.session_state.get(SCOPE_KEY, ALL_SCOPES) not in options:
        st.session_state[SCOPE_KEY] = ALL_SCOPES
    if not set(counts) - {""}:
        return
    st.selectbox(
        "Scope",
        options,
        key=SCOPE_KEY,
        format_func=lambda s: scope_label(s, counts),
        help="Whose memories the pages show: one user's, agent's or conversation's (recall, the graph, "
        "forgetting), or all of them",
    )


def sidebar() -> MemoryEngine:
    """The shared sidebar: store location, store counts, the scope selector and the simulated clock (advance,
    reset). Returns the engine. A saved clock outside :data:`memviz.limits.TIME_RANGE` (a store written before
    times were checked) is shown as an error with the reset button, and the page stops there instead of failing."""
    if (chosen := st.session_state.pop("db_uri_next", None)) is not None:  # a page's "open this store"
        st.session_state["db_uri"] = chosen
    with st.sidebar:
        st.text_input(
            "Store",
            value=db_uri(),
            key="db_uri",
            help="A folder (or object-storage URI) of an existing memviz store; only the default one is created",
        )
    engine = get_engine()  # on error: one line in the page, and the page stops
    with st.sidebar:
        s = engine.stats()
        counts = [
            (s["memories"], "memory", "memories"),
            (sum(s["links"].values()), "link", "links"),
            (s["events"], "event", "events"),
        ]
        st.caption(
            " · ".join(f"{n:,} {one if n == 1 else many}" for n, one, many in counts) + f" · version {s['version']}"
        )
        rerank = f"; reranker {engine.reranker.name}" if engine.reranker is not None else ""
        st.caption(inert(engine.store.settings.label() + rerank))
        _scope_selector(s["scopes"])
        if (job := jobs.latest(db_uri())) is not None and job.running:  # e.g. the demo being seeded on first start
            jobs.progress_bar(job)
        clock_problem = time_problem(s["now_s"])
        if clock_problem is None:
            st.markdown(f"**Clock** (simulated): {fmt_time(s['now_s'])} UTC")
        else:
            st.error(f"The saved clock cannot be shown: {clock_problem}. Reset it to the end of the data.")
        if (span := engine.read.time_range()) is not None and not all(time_problem(t) is None for t in span):
            st.warning(f"Some memory times lie outside the supported range ({TIME_RANGE}); charts may fail.")
        _clock_buttons(engine, advance=clock_problem is None)
        if (kept := st.session_state.pop("clock_error", None)) is not None:
            st.error(kept)
        st.session_state["_watch_inline"] = True  # the watcher's first run is part of this full run
        _watch_store(engine)
        st.session_state["_watch_inline"] = False
    if clock_problem is not None:
        st.stop()
    return engine


WATCH_EVERY_S = 3.0  # how often an open page looks whether its store has changed


def note_shown(engine: MemoryEngine) -> None:
    """Note the store as the page just drawn has shown it (app.py calls this when a page's run ends, however it
    ends): what :func:`_watch_store` compares with, so that the page's own writes do not rerun it again."""
    st.session_state["_store_shown"] = (db_uri(), engine.read.change_key())


@st.fragment(run_every=WATCH_EVERY_S)
def _watch_store(engine: MemoryEngine) -> None:
    """Every few seconds, a cheap look at the store's versions (:meth:`memviz.reads.Reads.change_key`): when
    another process, session or job changed the store since the page was drawn (an agent's memories and
    recalls through ``memviz mcp``, an import in a terminal), the whole page reruns and shows them; no one
    needs to restart the app. Cached reads are keyed on the store's version, so the rerun reads what changed.
    Skipped while this store's own background job runs (its progress bar reruns the page when it ends)."""
    if st.session_state.get("_watch_inline"):
        return
    shown = st.session_state.get("_store_shown")
    if shown is None or shown[0] != db_uri() or ((job := jobs.latest(db_uri())) is not None and job.running):
        return
    if engine.read.change_key() != shown[1]:
        st.rerun(scope="app")


def _clock_buttons(engine: MemoryEngine, advance: bool) -> None:
    """+1 d, +7 d and +30 d (when ``advance``) and "Reset clock"; a refused move is shown on the next run."""
    moves: list[tuple[str, str, float | None]] = [
        ("+1 d", "clock_1", 1),
        ("+7 d", "clock_7", 7),
        ("+30 d", "clock_30", 30),
    ]
    cols = st.columns(3)
    for col, (label, key, days) in zip(cols, moves if advance else []):
        if col.button(
            label,
            key=key,
            use_container_width=True,
            help=f"Writes: advances the store's clock by {days} d (a clock event)",
        ):
            _move(lambda d=days: engine.advance_clock(days=d))
    if st.button(
        "Reset clock",
        key="clock_reset",
        use_container_width=True,
        help="Writes: sets the clock back to the end of the data (the latest memory time), recorded in the event log",
    ):
        _move(engine.reset_clock)


def _move(action) -> None:
    try:
        action()
    except MemvizError as e:
        st.session_state["clock_error"] = str(e)
    st.rerun()
