"""What the pages' job forms call in memviz.ui.jobs: reading the data to ingest (load_source), an evaluation
as a background job (start_eval) and the run button (run_button) in a small AppTest script."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from memviz.demo import DEMO_FORMAT, DEMO_PATH
from memviz.errors import ConfigError, MemvizError
from memviz.ui import jobs

from support import TINY_LOCOMO

LINE = '{"session": "u1", "speaker": "Cy", "text": "Cy kayaks on Lake Bled."}\n'


def test_load_source_demo_upload_and_path(tmp_path):
    data, origin = jobs.load_source("demo")
    assert len(data) == 214 and origin == {"path": str(DEMO_PATH), "format": DEMO_FORMAT, "demo": True}
    data, origin = jobs.load_source("upload", fmt="jsonl", upload=("notes.jsonl", LINE.encode()))
    assert [m.text for m in data.items()] == ["Cy kayaks on Lake Bled."]
    assert origin == {"path": "notes.jsonl", "format": "jsonl"}
    path = tmp_path / "notes.jsonl"
    path.write_text(LINE * 2, encoding="utf-8")
    data, origin = jobs.load_source("path", f"  {path}  ", "jsonl")
    assert len(data) == 2 and origin == {"path": str(path), "format": "jsonl"}


def test_load_source_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(ConfigError, match="Choose a file to upload first"):
        jobs.load_source("upload", fmt="jsonl")
    with pytest.raises(ConfigError, match="Type the path of a data file first"):
        jobs.load_source("path", "  ", "jsonl")
    with pytest.raises(ConfigError, match="unknown data source"):
        jobs.load_source("ftp")
    with pytest.raises(MemvizError, match="cannot read file"):
        jobs.load_source("path", str(tmp_path / "missing.jsonl"), "jsonl")


def test_start_eval_runs_locomo_in_the_background(tmp_path, embedder):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_LOCOMO), encoding="utf-8")
    db = str(tmp_path / "stores")
    job = jobs.start_eval("locomo", str(path), db, "default", 2)
    assert job.key == f"eval:{db}" and job.total == 2 and job.label == "the locomo evaluation"
    assert job.wait(300) and job.error is None, job.error
    assert job.result["benchmark"] == "locomo" and job.result["counts"]["evaluated"] == 2
    assert "trace" in job.result["questions"][0]  # traces kept for the page
    assert job.message.startswith("locomo · default · 2 q in ") and f"stores in {db}" in job.message


def _script():
    import streamlit as st

    from memviz.errors import StoreError
    from memviz.ui import jobs

    def start():
        if st.session_state.get("refuse"):
            raise StoreError("busy")
        return jobs.start("test-key", "a test job", 1, lambda job: ("the result", "all done"))

    ended = jobs.run_button("Run", "run", "test-key", "slot", start)
    st.session_state["ended"] = None if ended is None else ended.result


def test_run_button_starts_reports_once_and_shows_refusals():
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    at.button(key="run").click().run()
    assert not at.exception
    job = jobs.latest("test-key")
    assert job is not None and job.wait(30)
    said = [s.value for s in at.success]  # the job may have ended before the rerun that follows the click
    ended = [at.session_state["ended"]]
    at.run()
    said += [s.value for s in at.success]
    ended.append(at.session_state["ended"])
    assert said == ["all done"] and ended.count("the result") == 1  # said once
    at.run()
    assert not at.success and at.session_state["ended"] is None
    at.session_state["refuse"] = True
    at.button(key="run").click().run()
    assert [e.value for e in at.error] == ["busy"]
