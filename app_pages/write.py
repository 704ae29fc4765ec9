"""Write: type a memory or pick turns from a data set, write them, and see the engine's write report."""

from __future__ import annotations

import streamlit as st

from memviz.demo import DEMO_FORMAT, DEMO_PATH
from memviz.engine import OnDuplicate
from memviz.errors import MemvizError
from memviz.importers import Dataset, load
from memviz.models import MEMORY_KINDS, MemoryInput
from memviz.paths import LOCOMO_DEV
from memviz.ui import write as uw
from memviz.ui.inert import inert
from memviz.ui.state import get_engine
from memviz.viz import memories as vm
from memviz.viz import write as vw

MODES = {"type": "Type a memory", "pick": "Pick turns from a data set"}


@st.cache_resource(show_spinner="Reading the data set ...")
def dataset(path: str, fmt: str) -> Dataset:
    """A data set read once per process (read-only)."""
    return load(path, fmt)


def data_sources() -> dict[str, tuple[str, str, str]]:
    """``{label: (path, format, group)}`` of the conversations one can pick turns from."""
    locomo = (str(LOCOMO_DEV), list(dataset(str(LOCOMO_DEV), "locomo").groups)) if LOCOMO_DEV.is_file() else None
    return vw.turn_sources((str(DEMO_PATH), DEMO_FORMAT), locomo)


def typed_input() -> tuple[list[MemoryInput], OnDuplicate] | None:
    """The text area and its fields; the memory to write once "Write" is clicked."""
    text = st.text_area(
        "Memory text",
        key="write_text",
        height=100,
        placeholder="e.g. I moved to Manchester last week and my rent is £1,150 a month.",
    )
    c = st.columns(3)
    speaker = c[0].text_input("Speaker", key="write_speaker")
    session = c[1].text_input(
        "Session", key="write_session", help="A memory is linked to the previous turn of its session (temporal link)"
    )
    kind = c[2].selectbox("Kind", MEMORY_KINDS, key="write_kind")
    if not st.button("Write", key="write_button", type="primary", icon=":material/edit:"):
        return None
    typed = MemoryInput(text=text, speaker=speaker.strip(), session_id=session.strip(), kind=kind, dataset="typed")
    return [typed], "error"


def picked_input() -> tuple[list[MemoryInput], OnDuplicate] | None:
    """A conversation, a session and some of its turns; the turns to write once the button is clicked."""
    sources = data_sources()
    label = st.selectbox("Conversation", list(sources), key="write_dataset")
    path, fmt, group = sources[label]
    turns = dataset(path, fmt).groups[group]
    c = st.columns([1, 3])
    session = c[0].selectbox("Session", vw.sessions_of(turns), key="write_pick_session")
    labels = vm.memory_labels(vw.session_turns(turns, session), max_chars=110)
    chosen = c[1].multiselect(
        "Turns (written in one batch, in this order)", list(labels), key="write_turns", format_func=labels.get
    )
    copies = st.checkbox(
        "Write as new copies (new ids)",
        key="write_copies",
        help="Turns keep their data set ids; a turn already stored is skipped unless written as a copy",
    )
    if not st.button(
        "Write the chosen turns", key="write_turns_button", type="primary", icon=":material/edit:", disabled=not chosen
    ):
        return None
    return vw.picked_turns(turns, session, chosen, copies)


engine = get_engine()
st.title("Write")
st.caption(
    "How a memory is written: normalised, given keywords (YAKE) and an importance, embedded (MiniLM), "
    "compared with every earlier memory and linked to the closest ones, all in one batch."
)

mode = st.radio(
    "Input", list(MODES), format_func=MODES.get, horizontal=True, key="write_mode", label_visibility="collapsed"
)
to_write = typed_input() if mode == "type" else picked_input()
if to_write is not None:
    inputs, on_duplicate = to_write
    try:
        report = engine.write(inputs, on_duplicate=on_duplicate)
    except MemvizError as e:
        st.session_state.pop("write_report", None)
        st.error(inert(e))
    else:
        st.session_state["write_report"] = report
        st.rerun()  # the sidebar's counts were drawn before the write

if report := st.session_state.get("write_report"):
    uw.show_report(engine, report)
