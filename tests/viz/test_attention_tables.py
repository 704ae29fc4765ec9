"""The tables and captions moved out of the Attention page (memviz.viz.attention_tables), and its losses figure."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from memviz.attention.metrics import SINK_COLUMNS
from memviz.viz import attention as va
from memviz.viz import attention_tables as vt


def test_sink_table_and_formats():
    row = ("<s>", 0, "primary", 30, 0, 29, 30, 0.91, 0.99, 0.8, 120.0, 40.0, 3.0)
    df = vt.sink_table([row], SINK_COLUMNS)
    assert list(df.columns) == list(SINK_COLUMNS) and df.loc[0, "token"] == "<s>"
    assert vt.sink_table([], SINK_COLUMNS).empty
    assert set(vt.SINK_TABLE_FORMATS) <= set(SINK_COLUMNS)
    assert vt.SINK_TABLE_FORMATS["hidden_norm_ratio"] == ("norm ×", "%.1f")


def test_captions():
    assert "at least 25% of its heads" in vt.sink_caption(0.3, 0.25) and "ε = 0.3" in vt.sink_caption(0.3, 0.25)
    assert vt.tokens_note(256, 300, True) == "256 tokens (cut from 300)"
    assert vt.tokens_note(40, 40, False) == "40 tokens"
    assert vt.capture_caption(40, 40, False, 30, 9, 1.234, 0.5) == (
        "40 tokens · 30 layers × 9 heads · captured in 1.23 s · first token's Gu et al. sink metric 0.50"
    )
    assert vt.kv_caption(256, 300, True, 32).startswith("256 tokens (cut from 300), budget 32. H2O keeps")


def test_store_memory_labels_and_lines_keep_store_order():
    df = pd.DataFrame(
        {"id": ["a", "b", "c"], "speaker": ["Ann", "", "Bob"], "text": ["x" * 100, "no speaker", "<b>bold</b>"]}
    )
    labels = vt.store_memory_labels(df)
    assert list(labels) == ["a", "b", "c"]
    assert labels["a"] == "Ann: " + "x" * 90 and labels["b"] == "no speaker" and labels["c"] == "Bob: <b>bold</b>"
    assert vt.memory_lines(df, ["c", "a"]) == "Ann: " + "x" * 100 + "\nBob: <b>bold</b>"  # store order, full text
    assert vt.memory_lines(df, []) is None


def test_numbered_and_losses_figure():
    assert vt.numbered("Recalled:", ["one", "two"]) == "Recalled:\n1. one\n2. two"
    losses = {
        "full": SimpleNamespace(nll=np.array([1.0, 2.0]), ppl=3.0, ppl_evicted=None),
        "window": SimpleNamespace(nll=np.array([1.5, 4.0]), ppl=9.0, ppl_evicted=12.0),
    }
    fig = va.losses_figure(losses, 8, {"full": "Full cache", "window": "Window"})
    labels = {"full": "Full cache", "window": "Window"}
    want = va.policy_loss_figure(
        {p: v.nll for p, v in losses.items()}, 8, labels=labels, ppl={"full": 3.0, "window": 12.0}
    )
    assert fig.to_dict() == want.to_dict()


def test_kv_table_formats_name_the_summary_columns():
    assert vt.KV_TABLE_FORMATS["ppl"] == ("ppl (all)", "%.2f")
    assert not hasattr(va, "sink_table")  # the tables live in attention_tables only


def test_memory_lines_carry_speaker_and_date():
    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "speaker": ["Caroline", ""],
            "text": ["I went to a support group.", "no speaker"],
            "event_time_s": [1683554160.0, np.nan],  # 2023-05-08 13:56 UTC; none: the time it was written
            "created_time_s": [1700000000.0, 1700000000.0],  # 2023-11-14
        }
    )
    assert (
        vt.memory_lines(df, ["a", "b"]) == "[2023-05-08] Caroline: I went to a support group.\n[2023-11-14] no speaker"
    )
    assert (
        vt.count_label(1, "memory", "memories") == "1 memory"
        and vt.count_label(5, "memory", "memories") == "5 memories"
    )
