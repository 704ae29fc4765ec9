"""OTLP JSON files in and out, with the OpenTelemetry protobuf classes (``opentelemetry-proto``) and
``google.protobuf.json_format``; nothing here knows about memory.

A file is one OTLP/JSON ``TracesData`` (= ``ExportTraceServiceRequest``) object, or several of them one per line
(JSON Lines, as the OpenTelemetry file exporter writes). OTLP/JSON differs from protobuf's JSON mapping in one
place this module handles: trace and span ids are hex strings, not base64 (OTLP specification, "JSON Protobuf
Encoding"); enums are written as integers. Unknown fields are ignored, as OTLP receivers must.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from memviz.errors import MemvizError, SchemaError

try:
    from google.protobuf import json_format
    from opentelemetry.proto.common.v1.common_pb2 import (
        AnyValue,
        ArrayValue,
        InstrumentationScope,
        KeyValue,
        KeyValueList,
    )
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, TracesData
except ImportError as e:  # pragma: no cover - depends on the installation
    raise MemvizError(f"OTLP import/export needs opentelemetry-proto ({e.name}): pip install 'memviz[otel]'") from e

FORMAT = "otlp-json"
_ID_FIELDS = {"traceId": 16, "trace_id": 16, "spanId": 8, "span_id": 8, "parentSpanId": 8, "parent_span_id": 8}
_HEX = re.compile(r"[0-9a-fA-F]*")


@dataclass(frozen=True)
class SpanView:
    """One span as plain Python: hex ids, times in POSIX seconds, attributes as Python values (an OTLP array is
    a list, a key-value list a dict, bytes as bytes). ``where`` locates it in the file for messages."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_s: float
    end_s: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    where: str


def read_spans(text: str, name: str) -> list[SpanView]:
    """Every span of the OTLP/JSON document(s) in ``text`` (``name``: the file, for messages), in file order.
    Raises SchemaError ``<name>: otlp-json: <where>: <problem>`` for anything that is not OTLP/JSON traces."""
    spans: list[SpanView] = []
    for n, doc in _documents(text, name):
        where = "top level" if n is None else f"line {n}"
        if not isinstance(doc, dict):
            raise SchemaError(f"{name}: {FORMAT}: {where}: expected a JSON object (TracesData), got {_kind(doc)}")
        data = TracesData()
        try:
            json_format.ParseDict(_ids_to_base64(doc), data, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError) as e:
            raise SchemaError(f"{name}: {FORMAT}: {where}: not OTLP traces: {_short(e)}") from None
        spans.extend(_views(data, where))
    return spans


def write_documents(batches: Iterable[TracesData]) -> Iterator[str]:
    """One line of OTLP/JSON per ``TracesData`` (hex ids, integer enums, camelCase keys)."""
    for data in batches:
        d = json_format.MessageToDict(data, use_integers_for_enums=True)
        yield json.dumps(_ids_to_hex(d), ensure_ascii=False, separators=(",", ":")) + "\n"


def traces_data(resource: Mapping[str, Any], scope: tuple[str, str], spans: Iterable[Span]) -> TracesData:
    """One ``TracesData`` with one resource (``resource`` attributes) and one instrumentation scope
    (``(name, version)``) holding ``spans``."""
    return TracesData(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=attributes(resource)),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope[0], version=scope[1]), spans=spans)],
            )
        ]
    )


def attributes(values: Mapping[str, Any]) -> list[KeyValue]:
    """OTLP attributes of a mapping (None values left out)."""
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items() if v is not None]


def any_value(v: Any) -> AnyValue:
    """An OTLP ``AnyValue`` of a Python value: bool, int, float, str, bytes, list/tuple (array), dict (key-value
    list); None is the empty value."""
    if v is None:
        return AnyValue()
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, str):
        return AnyValue(string_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, list | tuple):
        return AnyValue(array_value=ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, Mapping):
        return AnyValue(kvlist_value=KeyValueList(values=attributes({str(k): x for k, x in v.items()})))
    return AnyValue(string_value=str(v))


def python_value(v: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue`` (the inverse of :func:`any_value`)."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [python_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: python_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which)


def hex_id(raw: bytes) -> str:
    return raw.hex()


# -- internals ----------------------------------------------------------------------------------------------
def _documents(text: str, name: str) -> Iterator[tuple[int | None, Any]]:
    """The JSON value of the whole text, else (JSON Lines) of each non-blank line with its number."""
    if not text.strip():
        raise SchemaError(f"{name}: {FORMAT}: top level: empty file")
    try:
        yield None, json.loads(text)
        return
    except RecursionError:
        raise SchemaError(f"{name}: {FORMAT}: top level: invalid JSON: nested too deeply") from None
    except json.JSONDecodeError as e:
        if not e.msg.startswith("Extra data"):
            raise SchemaError(
                f"{name}: {FORMAT}: top level: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            raise SchemaError(f"{name}: {FORMAT}: line {n}: invalid JSON at column {e.colno}: {e.msg}") from None
        except RecursionError:
            raise SchemaError(f"{name}: {FORMAT}: line {n}: invalid JSON: nested too deeply") from None


def _views(data: TracesData, where: str) -> Iterator[SpanView]:
    for r, rs in enumerate(data.resource_spans):
        resource = {kv.key: python_value(kv.value) for kv in rs.resource.attributes}
        for s, ss in enumerate(rs.scope_spans):
            for n, span in enumerate(ss.spans):
                yield SpanView(
                    trace_id=hex_id(span.trace_id),
                    span_id=hex_id(span.span_id),
                    parent_span_id=hex_id(span.parent_span_id),
                    name=span.name,
                    kind=int(span.kind),
                    start_s=span.start_time_unix_nano / 1e9,
                    end_s=span.end_time_unix_nano / 1e9,
                    attributes={kv.key: python_value(kv.value) for kv in span.attributes},
                    resource=resource,
                    scope=ss.scope.name,
                    where=f"{where}: resourceSpans[{r}].scopeSpans[{s}].spans[{n}] ({span.name or 'no name'})",
                )


def _ids_to_base64(node: Any) -> Any:
    """A copy of a parsed OTLP/JSON document with its hex trace/span ids in base64 (protobuf's JSON mapping of
    ``bytes``). A value that is not hex of the right length is left for the parser to judge."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            n = _ID_FIELDS.get(k)
            if n and isinstance(v, str) and len(v) == 2 * n and _HEX.fullmatch(v):
                v = base64.b64encode(bytes.fromhex(v)).decode()
            out[k] = _ids_to_base64(v)
        return out
    if isinstance(node, list):
        return [_ids_to_base64(x) for x in node]
    return node


def _ids_to_hex(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _ID_FIELDS and isinstance(v, str) else _ids_to_hex(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ids_to_hex(x) for x in node]
    return node


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _short(e: Exception, limit: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "FORMAT",
    "SpanView",
    "any_value",
    "attributes",
    "hex_id",
    "python_value",
    "read_spans",
    "traces_data",
    "write_documents",
]
