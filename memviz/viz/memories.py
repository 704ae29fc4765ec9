"""Tables, figures and HTML of the Memories and Write pages: pure functions of engine outputs (no streamlit).

Every memory text that ends up in HTML or in a plotly label is escaped (memory text can contain ``<script>``).
Times are POSIX seconds (UTC) in ``*_s`` names; stability is in days; retention, importance, similarity and
link weights are in [0, 1].
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from memviz.events import Event
from memviz.models import source_labels
from memviz.viz.plotly_text import plotly_text

# Columns of the memory table on the Memories page, in display order (``id`` is kept for selection).
TABLE_COLUMNS: tuple[str, ...] = (
    "id",
    "text",
    "speaker",
    "session_id",
    "source_id",
    "event_time",
    "kind",
    "importance",
    "stability_days",
    "recall_count",
    "retention",
    "forgotten",
)
LINK_COLUMNS: tuple[str, ...] = ("direction", "kind", "weight", "other_id", "other_speaker", "other_text", "why")
EVENT_COLUMNS: tuple[str, ...] = ("op", "clock_time", "recorded", "details")

_SNIPPET_CHARS = 60


def filter_memories(
    df: pd.DataFrame,
    search: str = "",
    kinds: Collection[str] = (),
    speakers: Collection[str] = (),
    sessions: Collection[str] = (),
    time_range_s: tuple[float, float] | None = None,
    min_retention: float = 0.0,
    show_forgotten: bool = False,
) -> pd.DataFrame:
    """The rows of a memory frame (as :meth:`MemoryEngine.retention_frame` returns it) that pass every filter.

    - ``search``: case-insensitive substring of ``text`` or ``source_id`` (taken literally, not as a regex);
      blank = no filter.
    - ``kinds`` / ``speakers`` / ``sessions``: keep rows whose value is one of these; empty = no filter.
    - ``time_range_s``: ``(start_s, end_s)``, keep rows with ``start_s <= event_time_s < end_s``; rows with
      no event time are dropped by a range. None = no filter.
    - ``min_retention``: keep rows with ``retention >= min_retention`` (in [0, 1]; 0 keeps all).
    - ``show_forgotten``: False drops soft-forgotten rows (``forgotten_time_s`` set).

    Vectorised (one boolean mask); returns a view of ``df`` in its original order and index.
    """
    mask = np.ones(len(df), dtype=bool)
    needle = search.strip()
    if needle:
        mask &= (
            df["text"].str.contains(needle, case=False, regex=False, na=False)
            | df["source_id"].str.contains(needle, case=False, regex=False, na=False)
        ).to_numpy()
    for column, allowed in (("kind", kinds), ("speaker", speakers), ("session_id", sessions)):
        if allowed:
            mask &= df[column].isin(list(allowed)).to_numpy()
    if time_range_s is not None:
        t = df["event_time_s"].to_numpy(np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            mask &= (t >= time_range_s[0]) & (t < time_range_s[1])
    if min_retention > 0.0:
        mask &= df["retention"].to_numpy(np.float64) >= min_retention
    if not show_forgotten:
        mask &= df["forgotten_time_s"].isna().to_numpy()
    return df.loc[mask]


def memory_table(df: pd.DataFrame) -> pd.DataFrame:
    """The display table of a memory frame: :data:`TABLE_COLUMNS`, ``event_time`` as a UTC datetime (NaT when
    the data has no time) and ``forgotten`` as a bool. Row order is kept; the index is reset (0..n-1), so a
    row position of the shown table is its index."""
    out = pd.DataFrame(
        {
            "id": df["id"],
            "text": df["text"],
            "speaker": df["speaker"],
            "session_id": df["session_id"],
            "source_id": df["source_id"],
            "event_time": pd.to_datetime(df["event_time_s"], unit="s", utc=True),
            "kind": df["kind"],
            "importance": df["importance"].astype(np.float64),
            "stability_days": df["stability_days"],
            "recall_count": df["recall_count"],
            "retention": df["retention"],
            "forgotten": df["forgotten_time_s"].notna(),
        }
    )
    return out.reset_index(drop=True)


def memory_labels(df: pd.DataFrame, max_chars: int = _SNIPPET_CHARS) -> dict[str, str]:
    """``{id: "source · speaker: text snippet"}`` for a memory picker (plain text, for widget labels); the source
    carries its conversation (:func:`memviz.models.source_labels`: ``conv-48:D2:24``, not ``D2:24``)."""
    cut = df["text"].str.slice(0, max_chars)
    text = cut.where(df["text"].str.len() <= max_chars, cut + "…")
    source = pd.Series(source_labels(df["id"], df["session_id"], df["source_id"]), index=df.index)
    label = source + " · " + df["speaker"].where(df["speaker"] != "", "—") + ": " + text
    return dict(zip(df["id"], label))


def memory_card_html(text: str, meta: Sequence[str] = (), keywords: Sequence[str] = ()) -> str:
    """A card with a memory's text, a line of metadata and its keywords as chips; everything escaped."""
    meta_html = " · ".join(html.escape(m) for m in meta if m)
    chips = "".join(
        f'<span style="display:inline-block;margin:2px 4px 2px 0;padding:1px 8px;border-radius:10px;'
        f'background:rgba(99,110,250,0.15);font-size:0.85em">{html.escape(k)}</span>'
        for k in keywords
    )
    return (
        '<div style="border:1px solid rgba(128,128,128,0.35);border-radius:8px;padding:10px 14px;margin-bottom:8px">'
        f'<div style="white-space:pre-wrap;font-size:1.05em">{html.escape(text)}</div>'
        + (f'<div style="opacity:0.7;font-size:0.85em;margin-top:6px">{meta_html}</div>' if meta_html else "")
        + (f'<div style="margin-top:6px">{chips}</div>' if chips else "")
        + "</div>"
    )


def links_frame(
    memory_id: str,
    keywords: Collection[str],
    links: pd.DataFrame,
    others: pd.DataFrame,
    semantic_threshold: float,
) -> pd.DataFrame:
    """The links of one memory, one row each, with the other memory and why the link exists.

    ``links`` has the links table's columns (``source_id``, ``target_id``, ``kind``, ``weight``, ...);
    ``others`` has ``id``, ``text``, ``speaker``, ``session_id`` and ``keywords`` of the memories at the other
    end (missing ones show empty). ``keywords`` are the memory's own. Columns: :data:`LINK_COLUMNS`;
    ``direction`` is ``"to older"`` (this memory links an earlier one) or ``"from newer"``. ``why``:

    - semantic: the cosine similarity and the threshold it met (A-MEM-style nearest-neighbour links);
    - temporal: the previous (or next) turn of the session;
    - keyword: the shared keywords and the weight (their Jaccard overlap times how specific they are).

    Sorted by kind, then weight (highest first).
    """
    if links.empty:
        return pd.DataFrame(columns=list(LINK_COLUMNS))
    outgoing = links["source_id"].to_numpy() == memory_id
    other_id = np.where(outgoing, links["target_id"], links["source_id"])
    info = others.set_index("id")
    out = pd.DataFrame(
        {
            "direction": np.where(outgoing, "to older", "from newer"),
            "kind": links["kind"].to_numpy(),
            "weight": links["weight"].astype(np.float64).to_numpy(),
            "other_id": other_id,
            "other_speaker": info["speaker"].reindex(other_id).fillna("").to_numpy(),
            "other_text": info["text"].reindex(other_id).fillna("").to_numpy(),
        }
    )
    mine = set(keywords)
    other_kw = info["keywords"].reindex(other_id).to_numpy()
    other_session = info["session_id"].reindex(other_id).fillna("").to_numpy()
    why = []
    for kind, weight, is_out, kws, session in zip(out["kind"], out["weight"], outgoing, other_kw, other_session):
        if kind == "semantic":
            why.append(f"cosine similarity {weight:.2f} ≥ threshold {semantic_threshold:.2f}")
        elif kind == "temporal":
            why.append(f"{'previous' if is_out else 'next'} turn of session {session}")
        elif kind == "keyword":
            shared = sorted(mine & set(kws if isinstance(kws, (list, np.ndarray)) else []))
            why.append(f"shared keywords: {', '.join(shared) or '—'} (overlap × specificity {weight:.2f})")
        else:
            why.append(kind)
    out["why"] = why
    return out.sort_values(["kind", "weight"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _event_details(e: Event, memory_id: str | None) -> str:
    p = e.payload
    if e.op == "write":
        return (
            f"importance {p.get('importance', 0):.2f}, stability {p.get('stability_days', 0):.1f} d, "
            f"{p.get('n_links', 0)} links, keywords: {', '.join(p.get('keywords', []))}"
        )
    if e.op == "link":
        links = p.get("links", [])
        mine = sum(memory_id in lk[:2] for lk in links) if memory_id is not None else None
        touching = "" if mine is None else f", {mine} of them touch this memory"
        return f"{len(links)} links written in its batch{touching}"
    if e.op == "recall":
        return f"recalled by query: {p.get('query', '')}"
    if e.op == "reinforce":
        return (
            f"stability {p.get('stability_before', 0):.1f} → {p.get('stability_after', 0):.1f} d "
            f"(retention was {p.get('retention_before', 0):.2f}; {p.get('reason', '')})"
        )
    if e.op in ("forget", "restore"):
        return f"reason: {p.get('reason', '')}"
    if e.op == "update":
        return f"text changed ({p.get('reason', '')}): {p.get('old_text', '')!r} → {p.get('text', '')!r}"
    text = json.dumps(p, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def events_frame(events: Sequence[Event], memory_id: str | None = None) -> pd.DataFrame:
    """Events (oldest first, as :meth:`MemoryStore.list_events` gives them): op, clock time and wall time (UTC
    datetimes) and a one-line summary of the payload; with ``memory_id`` a ``link`` event also says how many of
    its batch's links touch that memory. Columns: :data:`EVENT_COLUMNS`."""
    if not events:
        return pd.DataFrame(columns=list(EVENT_COLUMNS))
    return pd.DataFrame(
        {
            "op": [e.op for e in events],
            "clock_time": pd.to_datetime([e.time_s for e in events], unit="s", utc=True),
            "recorded": pd.to_datetime([e.wall_time_s for e in events], unit="s", utc=True),
            "details": [_event_details(e, memory_id) for e in events],
        }
    )


def importance_parts_figure(parts: Mapping[str, float], importance: float) -> go.Figure:
    """Horizontal bars of the importance heuristic's parts (see :func:`memviz.text.importance`), in the
    order given, each labelled with its value; the title gives the importance (their sum clipped to [0, 1])."""
    names = list(parts)
    values = [float(parts[n]) for n in names]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[n.replace("_", " ") for n in names],
            orientation="h",
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
            marker_color="#636efa",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Importance {importance:.2f}: the sum of these parts, at most 1",
        height=260,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"range": [0, max(0.35, max(values, default=0) * 1.25)], "title": "contribution"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def neighbours_frame(neighbours: Sequence[Mapping[str, Any]], linked_ids: Collection[str]) -> pd.DataFrame:
    """The nearest earlier memories of a written memory (best first): ``id``, ``text``, ``similarity``
    (cosine, [-1, 1]) and ``linked`` (a semantic link to it was created, i.e. id in ``linked_ids``)."""
    df = pd.DataFrame(list(neighbours), columns=["id", "text", "similarity"])
    df["linked"] = df["id"].isin(list(linked_ids))
    return df


def neighbours_figure(neighbours: pd.DataFrame, threshold: float, max_chars: int = 48) -> go.Figure:
    """Horizontal bars of the neighbours' cosine similarity (best at the top), one trace for those that were
    linked and one for those that were not, with the semantic-link threshold as a dashed vertical line.
    Labels are escaped text snippets."""
    text = neighbours["text"].astype(str)
    snippet = text.str.slice(0, max_chars).where(text.str.len() <= max_chars, text.str.slice(0, max_chars) + "…")
    # Plotly reads <b>, <br>... in labels and decodes &lt; &gt; &amp; (not &quot;): escape those three only.
    labels = np.array([f"{n + 1}. {plotly_text(s)}" for n, s in enumerate(snippet)], dtype=object)
    similarity = neighbours["similarity"].to_numpy(np.float64)
    linked = neighbours["linked"].to_numpy(bool)
    fig = go.Figure(
        [
            go.Bar(
                x=similarity[sel],
                y=labels[sel],
                orientation="h",
                name=name,
                marker_color=colour,
                text=[f"{s:.2f}" for s in similarity[sel]],
                textposition="outside",
                hovertemplate="%{y}<br>similarity %{x:.3f}<extra></extra>",
            )
            for name, sel, colour in (("linked", linked, "#00a676"), ("not linked", ~linked, "#b0b0b0"))
        ]
    )
    fig.add_vline(x=threshold, line_dash="dash", line_color="#ef553b")
    fig.add_annotation(
        x=threshold,
        y=1.0,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
        text=f"link threshold {threshold:.2f}",
        font={"color": "#ef553b"},
    )
    fig.update_layout(
        title="Nearest earlier memories (green: linked)",
        height=100 + 30 * max(len(labels), 1),
        barmode="stack",
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        xaxis={"range": [0, 1.1], "title": "cosine similarity"},
        yaxis={"categoryorder": "array", "categoryarray": labels.tolist(), "autorange": "reversed"},
    )
    return fig


def timings_frame(timings_ms: Mapping[str, float]) -> pd.DataFrame:
    """The write's stage timings: ``stage`` (without the ``_ms`` suffix) and ``ms``, total last."""
    return pd.DataFrame(
        {
            "stage": [k.removesuffix("_ms").replace("_", " ") for k in timings_ms],
            "ms": [float(v) for v in timings_ms.values()],
        }
    )


# -- added for the thin Memories and Write pages ----------------------------------------------------------
def store_metrics(stats: Mapping[str, Any], fmt_time=None) -> list[tuple[str, str, str | None]]:
    """The Memories page's metrics of :meth:`MemoryEngine.stats`: ``(label, value, help)``, the six store
    counts, then the three link kinds and the clock (formatted by ``fmt_time``, default ``str``)."""
    links = stats.get("links", {})
    counts = [
        ("Memories", stats["memories"]),
        ("Forgotten", stats["forgotten"]),
        ("Sessions", stats["sessions"]),
        ("Speakers", stats["speakers"]),
        ("Events", stats["events"]),
    ]
    out: list[tuple[str, str, str | None]] = [(label, f"{n:,}", None) for label, n in counts]
    out.append(("Version", str(stats["version"]), "The memories table's LanceDB version"))
    out += [
        (f"{kind.capitalize()} links", f"{links.get(kind, 0):,}", None) for kind in ("semantic", "temporal", "keyword")
    ]
    out.append(("Clock (UTC)", (fmt_time or str)(stats["now_s"]), "The simulated clock that retention is computed at"))
    return out


def event_time_bounds(df: pd.DataFrame) -> tuple[float, float] | None:
    """The earliest and latest ``event_time_s`` of a memory frame (POSIX s), or None when no row has one."""
    times = df["event_time_s"].dropna() if "event_time_s" in df else pd.Series(dtype=np.float64)
    return (float(times.min()), float(times.max())) if len(times) else None


def links_frame_of(
    memory_id: str, keywords: Collection[str], links: Sequence[Any], others: Sequence[Any], semantic_threshold: float
) -> pd.DataFrame:
    """:func:`links_frame` from typed objects: ``links`` are :class:`memviz.models.Link`, ``others`` the
    :class:`memviz.models.Memory` at their other ends (as :meth:`memviz.reads.Reads.links_around` gives them)."""
    link_df = pd.DataFrame(
        [{"source_id": lk.source_id, "target_id": lk.target_id, "kind": lk.kind, "weight": lk.weight} for lk in links],
        columns=["source_id", "target_id", "kind", "weight"],
    )
    other_df = pd.DataFrame(
        [
            {"id": m.id, "text": m.text, "speaker": m.speaker, "session_id": m.session_id, "keywords": list(m.keywords)}
            for m in others
        ],
        columns=["id", "text", "speaker", "session_id", "keywords"],
    )
    return links_frame(memory_id, keywords, link_df, other_df.drop_duplicates("id"), semantic_threshold)


def fields_frame(memory: Any, fmt_time=None) -> pd.DataFrame:
    """A memory's fields as ``field`` / ``value`` rows (values as text): times formatted by ``fmt_time``
    (default ``str``), importance and stability rounded, the number of ``accesses``; text, keywords and
    access times left out (shown elsewhere); an imported memory's source metadata follows, one row per key
    (``metadata.<key>``, values that are not strings as JSON)."""
    fmt = fmt_time or str
    skip = ("text", "keywords", "access_times_s", "metadata")
    fields = {k: getattr(memory, k) for k in memory.__dataclass_fields__ if k not in skip}
    for k in ("event_time_s", "created_time_s", "last_recalled_s", "forgotten_time_s"):
        if k in fields:
            fields[k] = fmt(fields[k])
    for k in ("importance", "stability_days"):
        fields[k] = round(fields[k], 3)
    fields["accesses"] = len(memory.access_times_s)
    for k, v in (getattr(memory, "metadata", None) or {}).items():
        fields[f"metadata.{k}"] = v if isinstance(v, str) else json.dumps(v, default=str)
    return pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]})


def reinforce_message(event: Any) -> str:
    """The line shown after reinforcing by hand, from a :class:`memviz.events.ReinforceEvent`."""
    return f"Reinforced: stability {event.stability_before:.1f} → {event.stability_after:.1f} days."


def dated_later(n: int) -> str:
    """What the memory table says of the ``n`` (> 0) memories dated after the clock: as of the clock they do not
    exist yet (:mod:`memviz.asof`), so they are not listed."""
    one = n == 1
    return (
        f"{n:,} {'memory' if one else 'memories'} dated after the clock {'does' if one else 'do'} not exist yet and "
        f"{'is' if one else 'are'} not listed (move the clock forward or reset it to the end of the data)."
    )


def detail_metrics(memory: Any, retention: float | None, n_recalled: int = 0) -> list[tuple[str, str]]:
    """The metrics of one memory's detail: importance, stability, retention now ("—" when unknown), how many
    recorded recalls returned it (``n_recalled``: its ``recall`` events), how many times it was reinforced (its
    ``recall_count``, one per ``reinforce`` event, by a recall or by hand) and state (``active`` /
    ``forgotten``), as ``(label, value)``. Both counts come from the event log, so they agree with the history."""
    return [
        ("Importance", f"{memory.importance:.2f}"),
        ("Stability (days)", f"{memory.stability_days:.1f}"),
        ("Retention now", "—" if retention is None else f"{retention:.2f}"),
        ("Recalled", str(n_recalled)),
        ("Reinforced", str(memory.recall_count)),
        ("State", "forgotten" if memory.forgotten else "active"),
    ]


__all__ = [
    "EVENT_COLUMNS",
    "LINK_COLUMNS",
    "TABLE_COLUMNS",
    "dated_later",
    "detail_metrics",
    "event_time_bounds",
    "events_frame",
    "fields_frame",
    "filter_memories",
    "importance_parts_figure",
    "links_frame",
    "links_frame_of",
    "memory_card_html",
    "memory_labels",
    "memory_table",
    "neighbours_figure",
    "neighbours_frame",
    "reinforce_message",
    "store_metrics",
    "timings_frame",
]
