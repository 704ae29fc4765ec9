"""The Forgetting page's figures on hand-made curves, retention values, versions and events."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from memviz.forgetting import MemoryHistory
from memviz.viz.forgetting import (
    CHANGE_HEADING,
    PARAM_SLIDERS,
    Curve,
    curve_figure,
    distribution_figure,
    history_table,
    retention_curves,
    suppress_heading,
    timeline_caption,
    timeline_figure,
)

from support import DAY, T0

HISTORY = MemoryHistory("m", np.array([T0, T0 + 2 * DAY]), np.array([2.0, 5.0]), ("write", "recall"))


def _ts(t_s) -> list[float]:
    return [pd.Timestamp(x).timestamp() for x in t_s]


def test_curve_is_solid_until_now_dotted_after_with_reinforcement_markers():
    t = np.array([T0, T0 + DAY, T0 + 2 * DAY - 1, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY])
    r = np.array([1.0, 0.6, 0.37, 1.0, 0.8, 0.67])
    fig = curve_figure(
        [Curve("exp <b>", "exponential", t, r), Curve("power", "power", t, r / 2)],
        HISTORY,
        now_s=T0 + 3 * DAY,
        threshold=0.3,
    )
    lines = [d for d in fig.data if d.mode == "lines"]
    past, future = lines[0], lines[1]
    assert _ts(past.x) == list(t[:5]) and list(past.y) == list(r[:5])
    assert _ts(future.x) == list(t[4:]) and future.line.dash == "dot" and past.line.dash == "solid"
    assert lines[2].name == "power" and list(lines[2].y) == list(r[:5] / 2)
    assert past.name == "exp &lt;b&gt;"
    marks = next(d for d in fig.data if d.name == "reinforcements")
    assert _ts(marks.x) == [T0 + 2 * DAY]
    assert list(marks.y) == [pytest.approx(0.37)]  # the retention the recall found, just before the jump
    assert marks.hovertext[0] == "recall: S 2.0 → 5.0 days"
    assert any(s.y0 == 0.3 for s in fig.layout.shapes)  # the threshold line


def test_distribution_counts_and_colours_the_bins_below_the_threshold():
    r = np.array([0.01, 0.02, 0.03, 0.26, 0.5, 0.99, 1.0, np.nan])
    fig = distribution_figure(r, threshold=0.25, bins=4)
    bar = fig.data[0]
    assert list(bar.y) == [3, 1, 1, 2]
    assert list(bar.x) == [0.125, 0.375, 0.625, 0.875]
    assert list(bar.marker.color) == ["#d62728", "#1f77b4", "#1f77b4", "#1f77b4"]
    assert fig.layout.yaxis.type == "log"


def test_timeline_puts_events_on_their_op_rows_and_versions_on_theirs():
    events = pd.DataFrame(
        {
            "op": ["write", "write", "recall", "forget"],
            "time_s": [T0] * 4,
            "wall_time_s": [T0, T0 + 1, T0 + 60, T0 + 120],
            "n_memories": [1, 1, 5, 2],
        }
    )
    # naive, as LanceDB gives version timestamps (taken to be UTC)
    versions = [
        {"version": 1, "timestamp": datetime(2024, 1, 1, 0, 0, 30), "rows": 2},  # noqa: DTZ001
        {"version": 2, "timestamp": datetime(2024, 1, 1, 0, 2, 0), "rows": 2},
    ]  # noqa: DTZ001
    fig = timeline_figure(versions, events, selected_version=2)
    ev, ver = fig.data
    assert list(ev.y) == ["write", "write", "recall", "forget"] and _ts(ev.x) == [T0, T0 + 1, T0 + 60, T0 + 120]
    assert list(ver.y) == ["memories version"] * 2 and _ts(ver.x) == [T0 + 30, T0 + 120]
    assert list(fig.layout.yaxis.categoryarray) == ["forget", "recall", "write", "memories version"]
    assert len(fig.layout.shapes) == 1  # the selected version
    assert len(timeline_figure([], events.iloc[:0]).data) == 0


def test_timeline_reads_the_event_timeline_of_a_real_store(engine):
    from memviz.models import MemoryInput

    engine.write([MemoryInput("Ann adopted a cat.", id="a"), MemoryInput("The cat is grey.", id="b")])
    engine.forget(["a"])
    events = engine.read.event_timeline()
    fig = timeline_figure(engine.read.versions(), events)
    assert set(fig.data[0].y) >= {"write", "forget"}
    assert [list(c) for c in fig.data[0].customdata][-1][1] in (1, "1")  # the forget touched one memory


def _history(n_reinforcements: int = 2):
    times = np.array([T0 + n * DAY for n in range(n_reinforcements + 1)], dtype=np.float64)
    return MemoryHistory(
        "m", times, np.array([1.0 + n for n in range(n_reinforcements + 1)]), ("write", *["recall"] * n_reinforcements)
    )


def test_history_table_lists_each_reinforcement_with_its_stability():
    table = history_table(_history(2), fmt_time=lambda t: f"t{int((t - T0) // DAY)}")
    assert table["clock time"].tolist() == ["t1", "t2"] and table["reason"].tolist() == ["recall", "recall"]
    assert table["stability before (days)"].tolist() == [1.0, 2.0]
    assert table["stability after (days)"].tolist() == [2.0, 3.0]
    assert history_table(_history(0)).empty


def test_retention_curves_one_per_model_named_and_at_one_before_decay():
    curves = retention_curves(_history(1), T0 + 2 * DAY, 10, ["exponential", "power"])
    assert [c.model for c in curves] == ["exponential", "power"]
    assert curves[0].label == "exponential (Ebbinghaus)" and np.array_equal(curves[0].times_s, curves[1].times_s)
    assert curves[0].times_s[-1] == pytest.approx(T0 + 12 * DAY)
    assert curves[0].retention[0] == pytest.approx(1.0) and (np.diff(curves[0].retention[:10]) <= 0).all()


def test_page_texts_and_param_sliders():
    assert suppress_heading(0.1, 12, 500) == "**What decay would suppress** at threshold 0.10: 12 memories"
    assert suppress_heading(0.25, 1200, 500).endswith("1,200 memories (the weakest 500 listed)")
    assert timeline_caption(1234, 5).startswith("1,234 events and 5 versions")
    assert "How a recall would change" in CHANGE_HEADING
    from memviz.decay import DecayParams

    fields = [s[0] for s in PARAM_SLIDERS]
    assert fields == ["power_d", "actr_d", "actr_tau", "actr_s"]
    defaults = DecayParams()
    assert all(lo <= getattr(defaults, f) <= hi for f, _, lo, hi, _, _ in PARAM_SLIDERS)
