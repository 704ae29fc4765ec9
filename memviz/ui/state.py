"""The engine shared by every page (one per store and process) and the shared sidebar."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import streamlit as st

from memviz.engine import MemoryEngine, open_engine
from memviz.store import default_db_uri


def db_uri() -> str:
    """The store the app shows: chosen in the sidebar, else $MEMVIZ_DB, else .memviz."""
    return st.session_state.get("db_uri") or default_db_uri()


@st.cache_resource(show_spinner="Opening the memory store and loading the embedding model ...", max_entries=16)
def _engine(uri: str, _seed: bool = False) -> MemoryEngine:
    """Keyed on ``uri`` only (streamlit does not hash ``_``-arguments)."""
    from memviz.demo import seed_if_empty

    engine = open_engine(uri)
    if _seed:
        seed_if_empty(engine)  # first run: a real store, on the built-in demo conversation
    return engine


def get_engine(uri: str | None = None) -> MemoryEngine:
    """The engine of store ``uri`` (default: the app's store, :func:`db_uri`), created once per store and
    process (one ``st.cache_resource`` for the app's store and the evaluation stores; the embedding model is
    shared). The app's store is seeded with the demo conversation when it is empty."""
    return _engine(db_uri(), _seed=True) if uri is None else _engine(str(uri))


def fmt_time(t_s: float | None) -> str:
    """POSIX seconds as ``YYYY-MM-DD HH:MM`` (UTC); empty for None/NaN."""
    if t_s is None or math.isnan(t_s):
        return ""
    return datetime.fromtimestamp(t_s, tz=UTC).strftime("%Y-%m-%d %H:%M")


def sidebar() -> MemoryEngine:
    """The shared sidebar: store location, store counts and the simulated clock. Returns the engine."""
    with st.sidebar:
        st.text_input("Store", value=db_uri(), key="db_uri", help="A folder (or object-storage URI) of a memviz store")
        engine = get_engine()
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
