"""Data text in plotly figures, shown as text.

Plotly reads a subset of HTML in labels, titles, legend names and hover text (``<b>``, ``<br>``, ``<a href>``
links, ``<span style>``) and decodes the entities ``&lt;``, ``&gt;``, ``&amp;`` and numeric ones (not
``&quot;``); in a ``hovertemplate`` or ``texttemplate`` it also substitutes ``%{...}``. :func:`plotly_text`
escapes all three, so a memory text, speaker, id, query or data-set name shows exactly as written."""

from __future__ import annotations

import html


def plotly_text(value: object) -> str:
    """``value`` as plotly label text: ``<``, ``>``, ``&`` as entities and ``%`` as ``&#37;`` (so no tag, link
    or template variable is read in it); quotes are left as they are (plotly does not decode ``&quot;``)."""
    return html.escape("" if value is None else str(value), quote=False).replace("%", "&#37;")


__all__ = ["plotly_text"]
