"""OpenTelemetry GenAI memory spans (``memviz.otel``): import, export, the round trip, and bad files.

The foreign traces are made by the OpenTelemetry SDK itself, as an instrumented agent would make them: spans
named by ``gen_ai.operation.name`` with the ``gen_ai.memory.*`` attributes (the records as a JSON string, as the
SDK's attributes cannot nest), encoded by the SDK's own OTLP encoder (``encode_spans``) and written as OTLP/JSON.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.protobuf import json_format

from memviz.cli import main
from memviz.engine import RecallConfig
from memviz.errors import SchemaError
from memviz.models import MemoryInput
from memviz.otel import export_otlp, import_otlp
from memviz.recall.presets import preset_config
from memviz.store import MemoryStore
from memviz.viz.trace import preset_name

from support import DAY, T0

NS = 1_000_000_000


def _hex_ids(node):
    """protobuf's JSON (base64 ids) as OTLP/JSON (hex ids)."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else _hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(x) for x in node]
    return node


def agent_trace(path: Path) -> Path:
    """An agent's memory operations, traced with the OpenTelemetry SDK and exported as OTLP/JSON to ``path``."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "travel-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("travel-agent.memory")

    def span(op: str, t: float, **attrs):
        with tracer.start_as_current_span("invoke_agent", start_time=int(t * NS)):
            s = tracer.start_span(op, start_time=int(t * NS), attributes={"gen_ai.operation.name": op, **attrs})
            s.end(end_time=int((t + 0.012) * NS))

    memory = {"gen_ai.provider.name": "travel-agent", "gen_ai.memory.store.id": "user-42"}
    span("create_memory_store", T0, **memory)
    span(
        "create_memory",
        T0 + 60,
        **memory,
        **{
            "gen_ai.memory.record.count": 3,
            "gen_ai.memory.records": json.dumps(
                [
                    {"id": "m1", "content": "The user prefers window seats.", "metadata": {"user_id": "u42"}},
                    {"id": "m2", "content": "The user is vegetarian.", "metadata": {"session_id": "trip-1"}},
                    {"id": "m3", "content": {"preference": "aisle seat on long flights"}},
                ]
            ),
        },
    )
    span(
        "search_memory",
        T0 + DAY,
        **memory,
        **{
            "gen_ai.memory.query.text": "seat preference",
            "gen_ai.memory.record.count": 3,
            "gen_ai.memory.records": json.dumps(
                [
                    {"id": "m1", "content": "The user prefers window seats.", "score": 0.91},
                    {"content": "The user booked a flight to Oslo.", "score": 0.42},
                    {"id": "m3", "content": {"preference": "aisle seat on long flights"}, "score": 0.4},
                ]
            ),
        },
    )
    span("delete_memory", T0 + 2 * DAY, **memory, **{"gen_ai.memory.record.id": "m2"})
    span("search_memory", T0 + 3 * DAY, **memory, **{"gen_ai.memory.record.count": 2})  # content not captured
    request = encode_spans(exporter.get_finished_spans())
    path.write_text(json.dumps(_hex_ids(json_format.MessageToDict(request))))
    return path


def _state(db: Path) -> tuple:
    store = MemoryStore(db, create=False)
    return store.table_versions(), store.stats()["events"]


def test_an_agents_memory_spans_become_writes_recalls_and_forgets(tmp_path, make_engine):
    file = agent_trace(tmp_path / "agent.json")
    engine = make_engine()
    summary = import_otlp(engine, file)
    assert summary["operations"] == {"create_memory": 1, "search_memory": 2, "delete_memory": 1}
    assert (summary["written"], summary["recalls"], summary["forgotten"]) == (4, 2, 1)

    m1, m3 = engine.get("m1"), engine.get("m3")
    assert (m1.text, m1.event_time_s, m1.created_time_s, m1.dataset) == (
        "The user prefers window seats.",
        T0 + 60,
        T0 + 60,
        "travel-agent",
    )
    assert json.loads(m3.text) == {"preference": "aisle seat on long flights"}
    assert engine.get("m2").session_id == "trip-1" and engine.get("m2").forgotten
    oslo = [m for m in engine.read.table().itertuples() if "Oslo" in m.text]
    assert len(oslo) == 1 and oslo[0].id.startswith("otel:") and oslo[0].event_time_s == T0 + DAY
    writes = engine.read.events(ops=["write"])
    assert [e.time_s for e in writes] == [T0 + 60] * 3 + [T0 + DAY]
    assert engine.read.events(ops=["forget"])[0].time_s == T0 + 2 * DAY

    searched, blind = engine.traces()
    assert (searched.query, searched.time_s, searched.k) == ("seat preference", T0 + DAY, 3)
    final = searched.stage("final").candidates
    assert [c.id for c in final] == ["m1", oslo[0].id, "m3"] and [c.scores["score"] for c in final] == [0.91, 0.42, 0.4]
    assert preset_name(searched) == "imported (travel-agent)"
    assert engine.read.trace(searched.id).to_dict() == searched.to_dict()
    assert blind.stage("final").candidates == [] and blind.stage("scoring").info["record_count"] == 2
    assert engine.explain(searched, ["m2"])["m2"]["forgotten"] is False, "why-not works on an imported trace"
    assert engine.clock.now() >= T0 + 3 * DAY

    before = _state(engine.store.uri)
    again = import_otlp(engine, file)
    assert (again["written"], again["recalls"]) == (0, 0) and _state(engine.store.uri) == before


def _recalled_store(make_engine):
    engine = make_engine("src")
    turns = [
        ("Maya", "s1", "I finally moved to Leeds for the library job."),
        ("Leon", "s1", "Leeds! How is the flat?"),
        ("Maya", "s1", "Small, but it has a garden and my cat Pixel loves it."),
        ("Leon", "s2", "I am training for the Berlin marathon."),
        ("Maya", "s2", "My sister Ines studies dolphins in Lisbon."),
    ]
    engine.write(
        [MemoryInput(t, speaker=s, session_id=ss, event_time_s=T0 + n * 3600) for n, (s, ss, t) in enumerate(turns)]
    )
    engine.recall("Where did Maya move?", RecallConfig(k=3))  # an agent's recall: reinforced and recorded
    engine.advance_clock(days=5)
    engine.recall("cat", preset_config("amem", k=2, reinforce=False, record=True))  # kept, graph stage
    engine.recall("marathon training", preset_config("bm25", k=2, reinforce=False, record=True))
    return engine


def test_export_then_import_into_a_fresh_store_gives_the_same_traces(tmp_path, make_engine):
    source = _recalled_store(make_engine)
    file = tmp_path / "traces.jsonl"
    with open(file, "w") as out:
        assert export_otlp(source, out) == {"traces": 3, "lines": 1}

    doc = json.loads(file.read_text())  # OTLP/JSON: hex ids, integer enums, the memory attributes
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == source.traces()[0].id and len(span["spanId"]) == 16 and span["kind"] == 1
    attrs = {a["key"]: a["value"] for a in span["attributes"]}
    assert attrs["gen_ai.operation.name"] == {"stringValue": "search_memory"}
    assert attrs["gen_ai.memory.query.text"] == {"stringValue": "Where did Maya move?"}
    records = attrs["gen_ai.memory.records"]["arrayValue"]["values"]
    assert len(records) == 3 and records[0]["kvlistValue"]["values"][0]["key"] == "id"

    fresh = make_engine("fresh")
    summary = import_otlp(fresh, file)
    assert summary["recalls"] == 3
    assert [t.to_dict() for t in fresh.traces()] == [t.to_dict() for t in source.traces()]
    hits = [c.id for t in source.traces() for c in t.stage("final").candidates]
    for mid in hits:
        a, b = source.get(mid), fresh.get(mid)
        assert (a.text, a.speaker, a.session_id, a.event_time_s, a.dataset) == (
            b.text,
            b.speaker,
            b.session_id,
            b.event_time_s,
            b.dataset,
        )
    assert [e.time_s for e in fresh.read.events(ops=["recall"])] == [t.time_s for t in source.traces()]


BAD = {
    "empty": ("", "top level: empty file"),
    "not json": ("{resourceSpans: [", "invalid JSON"),
    "a list": ("[1, 2]", "expected a JSON object"),
    "not traces": ('{"resourceSpans": 5}', "not OTLP traces"),
    "bad start time": ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', "not OTLP"),
    "no memory span": (
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "chat", "startTimeUnixNano": "1"}]}]}]}',
        "1 span(s), none a GenAI memory operation",
    ),
}


def _memory_span(attrs: dict, start_ns: int = int(T0 * NS)) -> str:
    kv = [{"key": k, "value": v} for k, v in attrs.items()]
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "search_memory", "startTimeUnixNano": str(start_ns)}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span | {"attributes": kv}]}]}]})


SEARCH = {"gen_ai.operation.name": {"stringValue": "search_memory"}}
BAD |= {
    "records not a list": (
        _memory_span(SEARCH | {"gen_ai.memory.records": {"stringValue": '{"content": "x"}'}}),
        "gen_ai.memory.records: expected a list of records",
    ),
    "record not an object": (
        _memory_span(SEARCH | {"gen_ai.memory.records": {"arrayValue": {"values": [{"intValue": "3"}]}}}),
        "gen_ai.memory.records[0]: expected a record object",
    ),
    "records not JSON": (
        _memory_span(SEARCH | {"gen_ai.memory.records": {"stringValue": "[{"}}),
        "gen_ai.memory.records: invalid JSON",
    ),
    "time out of range": (
        _memory_span(SEARCH, start_ns=int(330 * 365.25 * 86_400) * NS),  # the year 2300
        "outside the supported range",
    ),
    "no start time": (_memory_span(SEARCH, start_ns=0), "the span has no start time"),
    "bad memviz trace": (
        _memory_span(SEARCH | {"memviz.trace": {"stringValue": '{"id": 1}'}}),
        "memviz.trace: not a memviz trace",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_malformed_file_is_refused_whole_and_changes_nothing(case, tmp_path, make_engine):
    text, message = BAD[case]
    engine = _recalled_store(make_engine)
    before = _state(engine.store.uri)
    file = tmp_path / "bad.json"
    file.write_text(text)
    with pytest.raises(SchemaError) as e:
        import_otlp(engine, file)
    assert str(e.value).startswith(f"{file}: otlp-json: ") and message in str(e.value), str(e.value)
    assert _state(engine.store.uri) == before


def test_cli_export_and_import(tmp_path, make_engine):
    source = _recalled_store(make_engine)
    file, fresh, runner = tmp_path / "t.json", tmp_path / "fresh", CliRunner()
    out = runner.invoke(main, ["export-traces", "--format", "otlp-json", "--db", source.store.uri, "-o", str(file)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["import-traces", str(file), "--db", str(fresh), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["recalls"] == 3
    stdout = runner.invoke(main, ["export-traces", "--db", str(fresh)])
    assert stdout.exit_code == 0 and stdout.stdout.count('"name":"search_memory"') == 3

    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": []}')
    out = runner.invoke(main, ["import-traces", str(bad), "--db", str(tmp_path / "never")])
    assert out.exit_code == 2 and "otlp-json: top level: no span at all" in out.output
    assert not (tmp_path / "never").exists(), "a refused file creates no store"
    out = runner.invoke(main, ["export-traces", "--db", str(tmp_path / "missing")])
    assert out.exit_code == 2 and "no memory store" in out.output
