"""The Memories page on a real demo store: counts, filters, ingesting by path, and a memory's detail."""

from __future__ import annotations

import json

from memviz.demo import DEMO_PATH
from memviz.filters import MemoryFilter
from memviz.store import MemoryStore
from memviz.ui.inert import inert

DEMO_TURNS = [json.loads(line) for line in DEMO_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_shows_store_counts(open_page):
    page = open_page("memories")
    assert page.metric("Memories") == "214"
    assert page.metric("Forgotten") == "0"
    assert page.metric("Sessions") == "9"
    assert page.metric("Speakers") == "2"
    assert int(page.metric("Temporal links")) == 214 - 9  # every turn but a session's first links its predecessor
    assert len(page.frame("mem_table")) == 214


def test_speaker_filter_and_search_narrow_the_table(open_page):
    page = open_page("memories")
    at = page.at
    at.multiselect(key="mem_speakers").set_value(["Maya"]).run()
    page.check()
    table = page.frame("mem_table")
    assert len(table) == sum(t["speaker"] == "Maya" for t in DEMO_TURNS)
    assert set(table["speaker"]) == {"Maya"}

    at.multiselect(key="mem_speakers").set_value([]).run()
    at.text_input(key="mem_search").set_value("POTTERY").run()  # case-insensitive
    table = page.frame("mem_table")
    expected = sum("pottery" in t["text"].lower() for t in DEMO_TURNS)
    assert 0 < len(table) == expected
    assert table["text"].str.lower().str.contains("pottery").all()

    at.text_input(key="mem_search").set_value("no memory says this").run()
    assert "mem_table" not in [d.key for d in at.dataframe]
    assert any("No memory matches" in i.value for i in at.info)


def test_min_retention_hides_faded_memories(open_page):
    page = open_page("memories")
    page.at.slider(key="mem_min_retention").set_value(0.5).run()
    table = page.frame("mem_table")
    assert 0 < len(table) < 214  # the clock stands at the last turn: early sessions have faded
    assert (table["retention"] >= 0.5).all()


def test_ingest_jsonl_by_path_adds_memories(open_page, tmp_path, demo_db):
    data = tmp_path / "notes.jsonl"
    data.write_text(
        '{"session": "n1", "speaker": "Ada", "text": "Ada keeps bees on the roof of the library.", '
        '"time": "2026-04-01T10:00:00Z"}\n'
        '{"session": "n1", "speaker": "Ada", "text": "The bees made twelve jars of honey this summer."}\n'
        '{"session": "n1", "speaker": "Bo", "text": "Bo is allergic to bee stings <script>alert(1)</script>."}\n',
        encoding="utf-8",
    )
    page = open_page("memories")
    at = page.at
    at.radio(key="ingest_source").set_value("path").run()
    at.text_input(key="ingest_path").set_value(str(data))
    at.selectbox(key="ingest_format").set_value("jsonl")
    at.button(key="ingest_button").click().run()
    page.finish_job()
    page.check()
    assert not at.error
    assert page.metric("Memories") == "217"
    assert page.metric("Speakers") == "4"
    assert any("3 memories written" in s.value for s in at.success)
    assert MemoryStore(demo_db).count() == 217
    at.multiselect(key="mem_speakers").set_value(["Ada", "Bo"]).run()
    # as of the clock (the end of the demo, 2026-03-29): the note dated 2026-04-01 does not exist yet
    assert sorted(page.frame("mem_table")["speaker"]) == ["Ada", "Bo"]
    assert any("1 memory dated after the clock does not exist yet" in c.value for c in at.caption)


def test_ingest_an_uploaded_file(open_page, demo_db):
    page = open_page("memories")
    at = page.at
    at.radio(key="ingest_source").set_value("upload").run()
    at.selectbox(key="ingest_format").set_value("jsonl")
    line = '{"session": "u1", "speaker": "Cy", "text": "Cy uploaded this note about kayaking on Lake Bled."}\n'
    at.file_uploader(key="ingest_upload").set_value(("upload.jsonl", line.encode(), "application/jsonl"))
    at.run()
    at.button(key="ingest_button").click().run()
    page.finish_job()
    page.check()
    assert not at.error
    assert page.metric("Memories") == "215"
    uploaded = MemoryStore(demo_db).memories_table(where=MemoryFilter(speakers=["Cy"]))
    assert uploaded.column("dataset").to_pylist() == ["upload"]


def test_ingest_goes_on_while_the_user_opens_other_pages(open_page, tmp_path, demo_db):
    """The ingest runs beside the page's script runs: while it runs, the page shows its progress and will not
    start a second one; opening another page and coming back does not stop it; its result is shown once."""
    from memviz.ui import jobs
    from memviz.ui.state import get_engine

    data = tmp_path / "notes.jsonl"
    notes = ({"session": "n", "speaker": "Ada", "text": f"Ada's note number {n} on bees."} for n in range(300))
    data.write_text("".join(json.dumps(note) + "\n" for note in notes), encoding="utf-8")
    page = open_page("memories")
    at = page.at
    at.radio(key="ingest_source").set_value("path").run()
    at.text_input(key="ingest_path").set_value(str(data))
    at.selectbox(key="ingest_format").set_value("jsonl")
    engine = get_engine()  # the app's engine for this store (st.cache_resource, same process)
    with engine.store.lock.hold():  # hold the first batch's commit: the ingest is certainly still running below
        at.button(key="ingest_button").click().run()
        page.check()
        job = jobs.latest(str(demo_db))
        assert job is not None and job.running and job.total == 300
        assert at.button(key="ingest_button").disabled
        label = inert(f"the ingest of {data}")  # shown as text
        assert any(f"Running {label}: 0 of 300" in e.proto.text for e in at.get("progress"))
        at.switch_page("app_pages/write.py").run()
        at.switch_page("app_pages/memories.py").run()
        page.check()
        assert job.running
    page.finish_job()
    page.check()
    assert not at.error
    assert [s.value for s in at.success] == [inert(job.message)]
    assert "300 memories written, 0 already stored" in job.message
    assert page.metric("Memories") == "514"
    assert MemoryStore(demo_db).count() == 514
    at.run()
    assert not at.success  # said once
    assert not at.button(key="ingest_button").disabled


def test_bad_file_shows_the_importer_error_and_writes_nothing(open_page, tmp_path, demo_db):
    data = tmp_path / "broken.jsonl"
    data.write_text(
        '{"session": "n1", "speaker": "Ada", "text": "fine"}\n{"session": "n1", "speaker": "Ada"}\n', encoding="utf-8"
    )
    page = open_page("memories")
    at = page.at
    at.radio(key="ingest_source").set_value("path").run()
    at.text_input(key="ingest_path").set_value(str(data))
    at.selectbox(key="ingest_format").set_value("jsonl")
    at.button(key="ingest_button").click().run()
    page.check()
    assert len(at.error) == 1
    assert inert('broken.jsonl: jsonl: line 2: missing "text"') in at.error[0].value
    assert page.metric("Memories") == "214"
    assert MemoryStore(demo_db).count() == 214

    at.text_input(key="ingest_path").set_value(str(tmp_path / "missing.json")).run()
    at.button(key="ingest_button").click().run()
    assert "cannot read file" in at.error[0].value
    assert MemoryStore(demo_db).count() == 214


def test_detail_forget_then_restore(open_page, demo_db):
    page = open_page("memories")
    at = page.at
    turn = next(t for t in DEMO_TURNS if "Tom & Jerry" in t["text"])
    at.text_input(key="mem_search").set_value("Tom & Jerry").run()
    table = page.frame("mem_table")
    assert list(table["text"]) == [turn["text"]]
    memory_id = table["id"].iat[0]
    at.selectbox(key="mem_detail").set_value(memory_id).run()
    page.check()
    card = at.html[0].value
    assert "Tom &amp; Jerry" in card and "Tom & Jerry" not in card  # the text is escaped
    assert page.metric("State") == "active"
    links = page.frame_with("direction", "why")
    assert "temporal" in set(links["kind"])
    assert page.frame_with("op", "details")["op"].iloc[0] == "write"

    at.button(key="mem_forget").click().run()
    page.check()
    assert page.metric("State") == "forgotten"
    assert page.metric("Forgotten") == "1"
    assert MemoryStore(demo_db).get([memory_id])[0].forgotten
    assert "mem_table" not in [d.key for d in at.dataframe]  # forgotten memories are hidden ...
    assert at.selectbox(key="mem_detail").value == memory_id  # ... but the detail stays open
    assert list(page.frame_with("op", "details")["op"])[-1] == "forget"

    at.button(key="mem_restore").click().run()
    page.check()
    assert page.metric("State") == "active"
    assert page.metric("Forgotten") == "0"
    assert not MemoryStore(demo_db).get([memory_id])[0].forgotten
    assert len(page.frame("mem_table")) == 1
    assert list(page.frame_with("op", "details")["op"])[-2:] == ["forget", "restore"]


def test_reinforce_raises_stability(open_page, demo_db):
    page = open_page("memories")
    at = page.at
    memory_id = at.selectbox(key="mem_detail").value
    before = MemoryStore(demo_db).get([memory_id])[0]
    at.button(key="mem_reinforce").click().run()
    page.check()
    after = MemoryStore(demo_db).get([memory_id])[0]
    assert after.stability_days > before.stability_days
    assert after.recall_count == before.recall_count + 1
    assert page.metric("Reinforced") == str(after.recall_count)
    history = page.frame_with("op", "details")["op"]  # one truth: the counts are the history's
    assert page.metric("Reinforced") == str((history == "reinforce").sum())
    assert page.metric("Recalled") == str((history == "recall").sum())
    assert any("Reinforced" in s.value for s in at.success)


def test_ingest_another_apps_lancedb_table_by_path_and_see_its_metadata(open_page, tmp_path, demo_db):
    import lancedb
    import pyarrow as pa

    app_db = tmp_path / "app.lancedb"
    lancedb.connect(str(app_db)).create_table(
        "notes",
        pa.table({"nid": ["x1"], "body": ["Ada keeps bees on the library roof."], "who": ["Ada"], "mood": ["calm"]}),
    )
    page = open_page("memories")
    at = page.at
    at.radio(key="ingest_source").set_value("path").run()
    at.text_input(key="ingest_path").set_value(str(app_db))
    at.selectbox(key="ingest_format").set_value("lancedb").run()
    at.text_input(key="ingest_text_column").set_value("text")
    at.button(key="ingest_button").click().run()
    page.check()
    message = "app.lancedb: lancedb: table 'notes': --text-column 'text': no such column; it has: nid, body, who, mood"
    assert len(at.error) == 1 and inert(message) in at.error[0].value
    assert MemoryStore(demo_db).count() == 214

    at.text_input(key="ingest_text_column").set_value("body")
    at.text_input(key="ingest_id_column").set_value("nid")
    at.text_input(key="ingest_speaker_column").set_value("who")
    at.button(key="ingest_button").click().run()
    page.finish_job()
    page.check()
    assert not at.error and MemoryStore(demo_db).count() == 215
    at.selectbox(key="mem_detail").set_value("x1").run()
    fields = page.frame_with("field", "value").set_index("field")["value"]
    assert fields["metadata.mood"] == "calm" and fields["dataset"] == "lancedb:notes" and fields["speaker"] == "Ada"
