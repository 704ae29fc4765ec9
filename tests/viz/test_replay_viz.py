"""The Replay page's computations (memviz.replay_view) on a small replayed store, and its figures
(memviz.viz.replay): bands over time equal the store "as of" each time banded, sessions, what decay suppressed."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from memviz import replay_view as rv
from memviz.engine import open_engine
from memviz.errors import ConfigError
from memviz.evaluate.common import store_dir
from memviz.replay import ReplayConfig, replay
from memviz.spacing import SPACING_FIELDS
from memviz.viz import forgetting as vf
from memviz.viz import replay as vr

from support import TINY_LOCOMO

_S2 = ["How is Lisbon?", "Sunny, and the kitchen is yellow.", "Rex chewed my cello bow."]
_S3 = ["Tom flew back to Toronto.", "My cello teacher is happy.", "I painted the bedroom blue."]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, fake_embedder):
    """Tiny LoCoMo with two more sessions (a month and three months later), replayed with recall k 3."""
    tmp = tmp_path_factory.mktemp("replayed")
    data = copy.deepcopy(TINY_LOCOMO)
    conv = data[0]["conversation"]
    for n, (turns, when) in enumerate(((_S2, "10:00 am on 20 June, 2023"), (_S3, "9:00 am on 30 August, 2023")), 2):
        conv[f"session_{n}"] = [
            {"speaker": "Bob" if i % 2 else "Ann", "dia_id": f"D{n}:{i + 1}", "text": t} for i, t in enumerate(turns)
        ]
        conv[f"session_{n}_date_time"] = when
    path = tmp / "l.json"
    path.write_text(json.dumps(data))
    replay(path, "locomo", tmp / "db", ReplayConfig(recall_k=3), embedder=fake_embedder)
    e = open_engine(str(store_dir(tmp / "db", "conv-t")), embedder=fake_embedder)
    e.forget(["conv-t:D1:3"])  # soft-forgotten at the clock (the end of the data)
    return e


def test_bands_order_forgotten_then_threshold_then_strong():
    r = np.array([0.9, 0.6, 0.3, 0.05, 0.9])
    forgotten = np.array([False, False, False, False, True])
    assert rv.bands(r, forgotten, 0.1).tolist() == [0, 0, 1, 2, 3]
    assert rv.bands(r, forgotten, 0.7).tolist() == [0, 2, 2, 2, 3]  # below a high threshold even if >= 0.5
    with pytest.raises(ConfigError):
        rv.bands(r, forgotten, 1.5)


def test_bands_over_time_equal_the_store_as_of_each_time(engine):
    grid = rv.time_grid(engine, 25)
    assert len(grid) == 25 and grid[-1] >= engine.clock.now() - 1
    frame = rv.bands_over_time(engine, grid, 0.1)
    assert list(frame.columns) == ["time_s", "band", "memories"] and len(frame) == 4 * 25
    for t in grid:
        asof = engine.retention_frame(now_s=t)
        want = np.bincount(
            rv.bands(asof["retention"].to_numpy(), asof["forgotten_time_s"].notna().to_numpy(), 0.1), minlength=4
        )
        got = frame[frame["time_s"] == t].set_index("band").loc[list(rv.BANDS), "memories"].to_numpy()
        assert got.tolist() == want.tolist(), t
    last = frame[frame["time_s"] == grid[-1]].set_index("band")["memories"]
    assert last["forgotten"] == 1 and last.sum() == 11
    with pytest.raises(ConfigError):
        rv.bands_over_time(engine, grid, 0.1, model="actr")


def test_states_carry_each_reinforcement_forward(engine):
    grid = rv.time_grid(engine, 40)
    st = rv.states_over_time(engine, grid)
    reinforced = engine.retention_frame()
    top = reinforced.sort_values("recall_count").iloc[-1]
    i = list(st["ids"]).index(top["id"])
    assert st["stability"][i, -1] == pytest.approx(top["stability_days"])
    assert np.all(np.diff(st["stability"][i]) >= 0)  # reinforcement only raises stability
    assert st["stability"][i, 0] < st["stability"][i, -1]


def test_session_activity_counts_writes_and_recalls_per_session(engine):
    s = rv.session_activity(engine)
    assert s["session_id"].tolist() == ["conv-t:S1", "conv-t:S2", "conv-t:S3"]
    assert s["written"].tolist() == [5, 3, 3]
    assert s["recalled"].iloc[0] == 0 and s["recalled"].iloc[1:].min() > 0  # the first had nothing to recall
    early = rv.session_activity(engine, as_of_s=float(s["end_s"].iloc[1]))
    assert early["written"].tolist() == [5, 3, 0] and early["recalled"].iloc[2] == 0


def test_suppressed_at_is_the_no_decay_top_k_minus_the_decay_top_k(engine):
    t = float(rv.time_grid(engine)[-1])
    version, events = engine.read.version(), engine.stats()["events"]
    table = rv.suppressed_at(engine, "cello", t, k=3)
    base = {"reinforce": False, "record": False, "as_of_s": t, "k": 3}
    from memviz.recall.config import RecallConfig

    with_decay = {h.memory.id for h in engine.recall("cello", RecallConfig(**base)).hits}
    without = [h.memory.id for h in engine.recall("cello", RecallConfig(**base).without_decay()).hits]
    assert table["id"].tolist() == [i for i in without if i not in with_decay]
    assert list(table.columns) == [
        "rank_without_decay",
        "rank_with_decay",
        "retention",
        "stability_days",
        "text",
        "speaker",
        "id",
    ]
    # June's kitchen turn, faded by the end of August, loses to decay at a retention weight of 0.1 (the default
    # 0.01 only breaks near-ties)
    strong = RecallConfig(weights=dict(RecallConfig().weights) | {"retention": 0.1})
    gone = rv.suppressed_at(engine, "kitchen", t, k=1, config=strong)
    assert gone["id"].tolist() == ["conv-t:D2:2"] and gone["retention"].iloc[0] < 1e-6
    assert gone["rank_with_decay"].iloc[0] == 2 and gone["rank_without_decay"].iloc[0] == 1
    assert (engine.read.version(), engine.stats()["events"]) == (version, events)  # pure reads
    queries = rv.turn_queries(engine)
    assert len(queries) == 6 and queries["time_s"].is_monotonic_increasing  # turns of sessions 2 and 3
    assert rv.query_at(queries, t) == queries["query"].iloc[-1]
    assert rv.query_at(queries, 0.0) == queries["query"].iloc[0] and rv.query_at(queries.iloc[0:0], t) == ""


def test_strongest_is_live_by_stability(engine):
    frame = engine.retention_frame()
    top = rv.strongest(frame, 4)
    assert len(top) == 4 and "conv-t:D1:3" not in top["id"].tolist()
    assert top["stability_days"].is_monotonic_decreasing


def test_figures():
    frame = pd.DataFrame(
        {
            "time_s": np.tile([1.7e9, 1.71e9], 4),
            "band": np.repeat(rv.BANDS, 2),
            "memories": [3, 1, 0, 2, 0, 4, 0, 1],
        }
    )
    fig = vr.bands_figure(frame, 1.705e9, 0.1, title="<b>x</b>")
    assert [t.stackgroup for t in fig.data] == ["bands"] * 4
    assert [list(t.y) for t in fig.data] == [[3, 1], [0, 2], [0, 4], [0, 1]]
    assert fig.data[2].name == "below the forget threshold (R < 0.1)"
    assert len(fig.layout.shapes) == 1 and fig.layout.title.text == "&lt;b&gt;x&lt;/b&gt;"
    act = pd.DataFrame(
        {
            "session_id": ["a<b", "c"],
            "start_s": [1.7e9, 1.8e9],
            "end_s": [1.7e9, 1.8e9],
            "written": [2, 3],
            "recalled": [0, 1],
        }
    )
    bars = vr.sessions_figure(act, 1.75e9)
    assert list(bars.data[0].x) == ["a&lt;b", "c"] and list(bars.data[1].y) == [0, 1]
    assert list(bars.data[0].marker.opacity) == [1.0, 0.3]  # the session after the moment is faint
    metrics = dict(
        vr.moment_metrics(
            pd.DataFrame({"retention": [0.9, 0.05, 0.3], "forgotten_time_s": [np.nan] * 3, "recall_count": [1, 0, 0]}),
            0.1,
        )
    )
    assert metrics["Memories then"] == "3" and metrics["Strong (R ≥ 0.5)"] == "1"
    assert metrics["Below the threshold 0.1"] == "1" and metrics["Recalled at least once"] == "1"
    assert "nothing" in vr.suppressed_caption(0, 10) and "2 of the top 10" in vr.suppressed_caption(2, 10)


def test_spacing_sliders_follow_the_documented_ranges():
    sliders = vf.spacing_sliders()
    assert [s[0] for s in sliders] == list(SPACING_FIELDS)
    for field, _, low, high, step, help_ in sliders:
        assert (low, high) == SPACING_FIELDS[field][:2] and 0 < step < high - low
        assert SPACING_FIELDS[field][2] in help_ and "Ye, Su & Cao 2022" in help_
