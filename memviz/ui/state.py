"""The engine shared by every page (one per store and process) and the shared sidebar."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from memviz.engine import MemoryEngine, open_engine
from memviz.errors import MemvizError, StoreNotFoundError
from memviz.store import default_db_uri


def db_uri() -> str:
    """The store the app shows: chosen in the sidebar, else $MEMVIZ_DB, else .memviz."""
    return st.session_state.get("db_uri") or default_db_uri()


def is_default_store(uri: str) -> bool:
    """Whether ``uri`` is the app's own store ($MEMVIZ_DB, else .memviz): the one store the app creates and
    seeds. Another path typed into the sidebar must hold a store already (a typo creates nothing)."""
    same = os.path.abspath if "://" not in uri else str
    return same(uri) == same(default_db_uri())


@st.cache_resource(show_spinner="Opening the memory store and loading the embedding model ...", max_entries=16)
def _engine(uri: str, _seed: bool = False) -> MemoryEngine:
    """Keyed on ``uri`` only (streamlit does not hash ``_``-arguments). ``_seed``: the app's own store, created
    if missing and seeded when empty; any other store must exist (StoreNotFoundError). Not cached on error."""
    from memviz.demo import seed_if_empty

    engine = open_engine(uri, create=_seed)
    if _seed:
        seed_if_empty(engine)  # first run: a real store, on the built-in demo conversation
    return engine


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


def sidebar() -> MemoryEngine:
    """The shared sidebar: store location, store counts and the simulated clock. Returns the engine."""
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
        st.markdown(f"**Clock** (simulated): {fmt_time(engine.clock.now())} UTC")
        cols = st.columns(3)
        for col, (label, days) in zip(cols, [("+1 d", 1), ("+7 d", 7), ("+30 d", 30)]):
            if col.button(label, key=f"clock_{days}", use_container_width=True):
                engine.advance_clock(days=days)
                st.rerun()
    return engine
