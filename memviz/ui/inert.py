"""Data shown as text: :func:`inert` makes a string from data or from a person inert in Streamlit's markdown.

Streamlit renders markdown in ``st.markdown``, ``st.caption``, the alerts (``st.error`` ...), ``st.toast``,
headings, ``st.progress`` text, metric labels and values, and in widget, expander and tab labels and radio
options: an image ``![x](http://host/beacon)`` there is fetched by the browser, a link is live, ``**x**`` is
bold. (Raw HTML is not rendered there, ``unsafe_allow_html`` stays off; ``st.text``, ``st.code``,
``st.dataframe``, ``st.json`` and the options of ``st.selectbox`` / ``st.multiselect`` show plain text.)

CommonMark lets a backslash escape every ASCII punctuation character, which then shows as itself: escaping
them all leaves no link, image, emphasis, heading, list, table, HTML tag, entity, directive (``:red[...]``) or
LaTeX (``$``) in the string, and the text reads the same. Use it for every value interpolated into a markdown
sink; the surrounding literal markdown (``**...**``) stays markdown. Pure (no streamlit), so tested directly.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def inert(value: object) -> str:
    """``value`` as text that Streamlit's markdown shows literally: every ASCII punctuation character
    backslash-escaped (``**b**`` -> ``\\*\\*b\\*\\*``); None is the empty string."""
    return "" if value is None else _PUNCTUATION.sub(r"\\\1", str(value))


__all__ = ["inert"]
