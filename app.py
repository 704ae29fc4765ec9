"""memviz: the Streamlit app. Run with `memviz app` or `streamlit run app.py`."""

import streamlit as st

from memviz.ui.state import sidebar

st.set_page_config(page_title="memviz", page_icon=":material/neurology:", layout="wide")

PAGES = [
    st.Page("pages/memories.py", title="Memories", icon=":material/table_view:", default=True),
    st.Page("pages/write.py", title="Write", icon=":material/edit_note:"),
    st.Page("pages/recall.py", title="Recall", icon=":material/manage_search:"),
    st.Page("pages/graph.py", title="Graph", icon=":material/hub:"),
    st.Page("pages/forgetting.py", title="Forgetting", icon=":material/trending_down:"),
    st.Page("pages/attention.py", title="Attention sinks", icon=":material/blur_on:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
]

page = st.navigation(PAGES)
sidebar()
page.run()
