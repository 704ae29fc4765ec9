"""The Replay page on a small replayed store (three sessions of tiny LoCoMo replayed with the fake embedder):
the scrubber, the bands over time, sessions, the strongest memories, what decay suppressed (pure reads), and a
replay run from the page as a background job."""

from __future__ import annotations

import copy
import json

import pytest

from memviz.evaluate.common import store_dir
from memviz.recall.config import RecallConfig
from memviz.replay import ReplayConfig, replay
from memviz.store import MemoryStore
from memviz.viz.replay import suppressed_caption

from support import TINY_LOCOMO, chart, values

_S2 = [
    ("Bob", "D2:1", "Ann, how is the yellow kitchen in Lisbon?"),
    ("Ann", "D2:2", "Lisbon is sunny and the kitchen looks great."),
    ("Bob", "D2:3", "Rex the dog chewed my cello bow."),
]
_S3 = [
    ("Ann", "D3:1", "Tom flew back to Toronto yesterday."),
    ("Bob", "D3:2", "My cello teacher says I improved a lot since March."),
    ("Ann", "D3:3", "I painted the Lisbon bedroom blue this time."),
]


@pytest.fixture
def data_file(tmp_path):
    data = copy.deepcopy(TINY_LOCOMO)
    conv = data[0]["conversation"]
    conv["session_2"] = [{"speaker": s, "dia_id": d, "text": t} for s, d, t in _S2]
    conv["session_2_date_time"] = "10:00 am on 20 June, 2023"
    conv["session_3"] = [{"speaker": s, "dia_id": d, "text": t} for s, d, t in _S3]
    conv["session_3_date_time"] = "9:00 am on 30 August, 2023"
    path = tmp_path / "mini_locomo.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def replayed_db(tmp_path, monkeypatch, fake_embedder, data_file):
    """The conversation replayed (recall k 3), its store set as the app's."""
    replay(data_file, "locomo", tmp_path / "rep", ReplayConfig(recall_k=3), embedder=fake_embedder)
    path = store_dir(tmp_path / "rep", "conv-t")
    monkeypatch.setenv("MEMVIZ_DB", str(path))
    return path


def _state(path):
    store = MemoryStore(path, create=False)
    return store.version(), store.count("events")


def test_the_page_scrubs_through_the_replay(replayed_db, app_page):
    page = app_page("replay")
    at = page.at
    assert page.metric("Memories then") == "11"  # at the end of the span: every memory
    bands = chart(at, "rp_bands")["data"]
    assert len(bands) == 4 and sum(values(b["y"])[-1] for b in bands) == 11  # the stack holds every memory
    assert sum(values(b["y"])[0] for b in bands) == 1  # at the first turn's time only it exists
    bars = chart(at, "rp_sessions")["data"]
    assert values(bars[0]["y"]) == [5, 3, 3]  # written per session, in time order
    assert values(bars[1]["y"])[0] == 0 and sum(values(bars[1]["y"])) > 0  # the first session had nothing to recall
    strongest = page.frame_with("stability_days", "recall_count", "session_id")
    assert len(strongest) == 11 and strongest["stability_days"].is_monotonic_decreasing
    assert strongest["recall_count"].max() > 0  # replayed recalls strengthened some
    at.select_slider(key="rp_time").set_value(0).run()
    page.check()
    assert page.metric("Memories then") == "1"  # as of the first turn's time, later turns do not exist yet
    assert len(page.frame_with("stability_days", "recall_count", "session_id")) == 1


def test_what_decay_suppressed_is_two_pure_reads(replayed_db, app_page):
    before = _state(replayed_db)
    page = app_page("replay")
    at = page.at
    turn = at.text_area(key="rp_turn_q").value  # the replay's own turn at the scrubbed moment
    assert turn in {t for _, _, t in _S3}
    assert any("pure reads" in c.value for c in at.caption)
    at.radio(key="rp_q_source").set_value("typed").run()
    at.text_input(key="rp_query").set_value("Where does Ann live?").run()
    at.number_input(key="rp_sup_k").set_value(2).run()
    page.check()
    assert any("top 2" in c.value for c in at.caption)
    # The retention weight starts at the default recall's; raised, the page shows what that decay suppresses.
    assert at.number_input(key="rp_sup_weight").value == RecallConfig().weights["retention"]
    at.number_input(key="rp_sup_weight").set_value(1.0).run()
    page.check()
    at.number_input(key="rp_sup_weight").set_value(0.0).run()  # no retention in the score: no decay at all
    page.check()
    assert any(suppressed_caption(0, 2) in c.value for c in at.caption)
    assert _state(replayed_db) == before  # nothing written


def test_a_replay_runs_from_the_page_as_a_job(replayed_db, data_file, tmp_path, app_page):
    page = app_page("replay")
    at = page.at
    db = tmp_path / "from_page"
    at.text_input(key="rp_path").set_value(str(data_file))
    at.text_input(key="rp_db").set_value(str(db)).run()
    at.button(key="rp_run").click().run()
    page.check()
    page.finish_job(f"replay:{db}")
    page.check()
    assert any("9 turns replayed" in s.value or "11 turns replayed" in s.value for s in at.success), [
        s.value for s in at.success
    ]
    assert MemoryStore(store_dir(db, "conv-t"), create=False).count() == 11
    at.button(key="rp_open_0").click().run()
    page.check()
    assert at.session_state["db_uri"] == str(store_dir(db, "conv-t"))
    assert page.metric("Memories then") == "11"
