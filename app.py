"""memviz: the Streamlit app. Run with `memviz app` or `streamlit run app.py`."""

import streamlit as st

from memviz.ui.state import app_icon, note_shown, sidebar

st.set_page_config(page_title="memviz", page_icon=app_icon(), layout="wide")

PAGES = [
    st.Page("app_pages/memories.py", title="Memories", icon=":material/table_view:", default=True),
    st.Page("app_pages/write.py", title="Write", icon=":material/edit_note:"),
    st.Page("app_pages/recall.py", title="Recall", icon=":material/manage_search:"),
    st.Page("app_pages/graph.py", title="Graph", icon=":material/hub:"),
    st.Page("app_pages/forgetting.py", title="Forgetting", icon=":material/trending_down:"),
    st.Page("app_pages/replay.py", title="Replay", icon=":material/replay:"),
    st.Page("app_pages/attention.py", title="Attention sinks", icon=":material/blur_on:"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
]

page = st.navigation(PAGES)
engine = sidebar()
try:
    page.run()
finally:  # also when the page stops or reruns: what it showed is the store as it is now
    note_shown(engine)
