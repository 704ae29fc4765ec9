"""memviz.ui.inert and memviz.viz.plotly_text: data shown as text in Streamlit's markdown and in plotly labels,
and two call sites (AppTest) showing a hostile query and id escaped."""

from __future__ import annotations

import re
import string

from streamlit.testing.v1 import AppTest

from memviz.ui.inert import inert
from memviz.viz.plotly_text import plotly_text

HOSTILE = "**bold** ![b](http://127.0.0.1:9/beacon) <img src=x> [l](javascript:alert(1)) $x$ :red[r] &amp; \\ #"


def unescape(md: str) -> str:
    """What CommonMark shows for backslash escapes of ASCII punctuation (the rest of the text as is)."""
    return re.sub(r"\\([" + re.escape(string.punctuation) + "])", r"\1", md)


def test_inert_escapes_every_ascii_punctuation_and_reads_the_same():
    out = inert(HOSTILE)
    assert unescape(out) == HOSTILE
    # every punctuation character is escaped: no markdown, HTML, entity, directive or LaTeX is left
    assert not re.search(r"(?<!\\)[" + re.escape(string.punctuation.replace("\\", "")) + "]", out.replace("\\\\", ""))
    assert inert("Caroline: 3 × (a) ok") == "Caroline\\: 3 × \\(a\\) ok"
    assert inert(None) == "" and inert(12) == "12" and inert("plain words") == "plain words"


def test_plotly_text_escapes_tags_entities_and_templates():
    assert plotly_text('<a href="x">%{x}</a> & "q"') == '&lt;a href="x"&gt;&#37;{x}&lt;/a&gt; &amp; "q"'
    assert plotly_text(None) == ""


def _hostile_markdown_app() -> None:
    import streamlit as st

    from memviz.ui.inert import inert

    query = st.session_state["query"]
    st.markdown(f"**{inert(query)}** · default")
    st.error(inert(ValueError(f"unknown memory id {query!r}")))


def test_call_sites_show_data_escaped():
    at = AppTest.from_function(_hostile_markdown_app, default_timeout=120)
    at.session_state["query"] = HOSTILE
    at.run()
    assert at.markdown[0].value == f"**{inert(HOSTILE)}** · default"
    assert unescape(at.error[0].value) == f"unknown memory id {HOSTILE!r}"
    assert "\\!\\[b\\]\\(" in at.error[0].value and "\\<img" in at.error[0].value
