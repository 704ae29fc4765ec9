"""Background ingest jobs (memviz.ui.jobs) on a real engine and store: progress, result, refusal of a second
job on the same store, and a failure reported with what was written before it."""

from __future__ import annotations

import pytest

from memviz.errors import StoreError
from memviz.importers import Dataset
from memviz.models import MemoryInput
from memviz.ui import jobs


def notes(n: int, prefix: str = "n") -> Dataset:
    return Dataset(
        "jsonl",
        f"{prefix}.jsonl",
        {
            "s": [
                MemoryInput(text=f"Note {k} about the bee hives.", speaker="Ada", id=f"{prefix}:{k}") for k in range(n)
            ]
        },
    )


def test_a_job_ingests_in_the_background_and_reports(engine, tmp_path):
    job = jobs.start_ingest(engine, str(tmp_path), notes(300), {"path": "n.jsonl", "format": "jsonl"})
    assert jobs.latest(str(tmp_path)) is job
    assert job.wait(120) and not job.running and job.error is None
    assert (job.done, job.total) == (300, 300)
    assert engine.store.count() == 300
    assert job.message.startswith("n.jsonl: 300 memories written, 0 already stored, ")
    assert job.message.endswith(f"Store: {engine.store.settings.label()}.")  # embedder, context, tokenizer
    assert "context 2 previous turns (embedding and full-text)" in job.message  # the default
    assert [len(r.items) for r in job.result] == [256, 44]


def test_a_second_job_on_the_same_store_is_refused_while_one_runs(engine, tmp_path):
    with engine.store.lock.hold():  # the first job cannot commit its first batch until this block ends
        first = jobs.start_ingest(engine, str(tmp_path), notes(10), {})
        with pytest.raises(StoreError, match=r"the ingest of n.jsonl is running on this store \(0 of 10 done\)"):
            jobs.start_ingest(engine, str(tmp_path), notes(10, "m"), {})
        assert first.running
    assert first.wait(120) and first.error is None
    second = jobs.start_ingest(engine, str(tmp_path), notes(10, "m"), {})  # once it has ended, fine
    assert second.wait(120) and engine.store.count() == 20


def test_a_failed_job_says_why_and_how_much_was_written(engine, tmp_path):
    add, calls = engine.store.memories.add, []

    def add_then_fail(rows, *a, **kw):  # the store's second memories write fails
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("disk full")
        return add(rows, *a, **kw)

    engine.store.memories.add = add_then_fail
    job = jobs.start_ingest(engine, str(tmp_path), notes(300), {})
    assert job.wait(120)
    assert job.error.startswith("writing batch ") and "disk full" in job.error
    assert job.error.endswith("(256 of 300 done before it)")
    assert engine.store.count() == 256
