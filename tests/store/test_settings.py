"""A store's settings (embedder, context, full-text tokenizer): recorded when it is made, read when it is opened,
and a different embedder or different settings refused (memviz.store.settings)."""

from __future__ import annotations

from dataclasses import replace

import lancedb
import numpy as np
import pytest

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine, open_engine
from memviz.errors import ConfigError, EmbedderMismatchError, SettingsMismatchError
from memviz.models import MemoryInput
from memviz.store import SCHEMAS, MemoryStore
from memviz.store.settings import (
    DEFAULT,
    LEGACY,
    ContextSettings,
    FulltextSettings,
    StoreSettings,
    from_schema,
)

from fakes import FakeEmbedder
from support import T0

CUSTOM = StoreSettings(
    context=ContextSettings(turns=2, date=True, fulltext=True), fulltext=FulltextSettings(stem=False)
)


def test_a_new_store_records_its_settings_and_a_reopened_one_reads_them(tmp_path):
    store = MemoryStore(tmp_path / "db", settings=CUSTOM)
    assert store.settings == CUSTOM
    again = MemoryStore(tmp_path / "db", create=False)
    assert again.settings == CUSTOM
    assert again.has_context
    assert from_schema(lancedb.connect(tmp_path / "db").open_table("memories").schema) == CUSTOM


def test_default_settings_when_none_are_given(tmp_path):
    assert MemoryStore(tmp_path / "db").settings == DEFAULT


def test_a_store_made_before_settings_existed_reads_as_legacy_and_is_still_written(tmp_path):
    db = lancedb.connect(tmp_path / "old")
    for name, schema in SCHEMAS.items():  # the schemas of memviz before settings: no metadata, no context
        db.create_table(name, schema=schema)
    store = MemoryStore(tmp_path / "old")
    assert store.settings == LEGACY
    assert not store.has_context
    engine = MemoryEngine(store, FakeEmbedder(), SimulatedClock(T0))
    engine.write([MemoryInput(text="an old store still takes memories", id="m1", session_id="s")])
    assert engine.recall("old store", reinforce=False).hits[0].memory.id == "m1"


def test_asking_an_existing_store_for_other_settings_is_refused_and_changes_nothing(tmp_path):
    MemoryStore(tmp_path / "db", settings=CUSTOM)
    other = replace(CUSTOM, context=ContextSettings(turns=1))
    with pytest.raises(SettingsMismatchError, match="2 previous turns"):
        MemoryStore(tmp_path / "db", settings=other, require_settings=True)
    with pytest.raises(SettingsMismatchError, match="full-text"):
        MemoryStore(tmp_path / "db", settings=replace(CUSTOM, fulltext=FulltextSettings()), require_settings=True)
    assert MemoryStore(tmp_path / "db", settings=other).settings == CUSTOM  # settings only make a new store


class _OtherModel(FakeEmbedder):
    name = "some-other-model"


class _Small(FakeEmbedder):
    """A 64-d embedder (the fake's first 64 buckets, renormalised)."""

    dim = 64
    name = "small-64"

    def encode(self, texts):
        v = super().encode(texts)[:, :64]
        return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def test_an_engine_with_another_embedder_is_refused(tmp_path):
    store = MemoryStore(tmp_path / "db")
    with pytest.raises(EmbedderMismatchError, match="all-MiniLM-L6-v2.*some-other-model"):
        MemoryEngine(store, _OtherModel(), SimulatedClock(T0))


def test_a_store_of_another_dimension_writes_and_recalls(tmp_path):
    emb = _Small()
    engine = open_engine(str(tmp_path / "db"), SimulatedClock(T0), embedder=emb)
    assert (engine.store.settings.embedder, engine.store.dim) == ("small-64", 64)
    engine.write([MemoryInput(text="the red kite nests in the oak"), MemoryInput(text="tax forms are due in April")])
    assert engine.recall("where does the kite nest", reinforce=False).hits[0].memory.text.startswith("the red kite")
    assert engine.store.vectors()[1].shape == (2, 64)
    # Opened without naming an embedder, a store uses its own; with the default MiniLM it is refused.
    with pytest.raises(EmbedderMismatchError):
        open_engine(str(tmp_path / "db"), embedder=FakeEmbedder())


def test_an_unreadable_recorded_setting_is_a_config_error(tmp_path):
    import pyarrow as pa

    from memviz.store.tables import memories_schema

    schema = memories_schema(DEFAULT)
    bad = schema.set(schema.get_field_index("text"), pa.field("text", pa.string(), False, {"memviz.fulltext": "{"}))
    with pytest.raises(ConfigError, match="not JSON"):
        from_schema(bad)


def test_context_settings_are_checked():
    with pytest.raises(ConfigError, match="0..8"):
        ContextSettings(turns=9).validated()
    with pytest.raises(ConfigError, match="only when there is one"):
        ContextSettings(fulltext=True).validated()
    assert ContextSettings(turns=1, date=True).label() == "1 previous turn + date (embedding)"
    assert ContextSettings().label() == "off"
