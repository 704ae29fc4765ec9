"""The commands that connect memviz to agents: ``memviz mcp`` (serve a store to MCP clients) and
``memviz export-traces`` / ``memviz import-traces`` (OpenTelemetry GenAI memory spans as OTLP/JSON). Registered
by :mod:`memviz.cli`; the SDKs they need (extras ``mcp`` and ``otel``) are imported only when one runs."""

from __future__ import annotations

import json
import sys

import click

from memviz.cli_options import DB_OPTION


@click.command("mcp")
@DB_OPTION
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="http: the address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="http: the port (endpoint /mcp).")
@click.option(
    "--clock",
    type=click.Choice(["store", "real"]),
    default="store",
    show_default=True,
    help="store: the store's simulated clock, which the app and every command share; real: wall-clock time.",
)
def mcp_cmd(db: str | None, transport: str, host: str, port: int, clock: str) -> None:
    """Serve the store (created if missing) to MCP clients: the tools remember, recall, forget and stats. Over
    stdio (the default) a client starts this command itself; --transport http serves Streamable HTTP at
    http://HOST:PORT/mcp. Every remember, recall and forget is an event in the store's log: an open app shows it."""
    from memviz.clock import SystemClock
    from memviz.engine import open_engine
    from memviz.mcp_server import serve

    engine = open_engine(db, clock=SystemClock() if clock == "real" else None)
    serve(engine, "stdio" if transport == "stdio" else "http", host, port)


@click.command("export-traces")
@click.option("--format", "fmt", type=click.Choice(["otlp-json"]), default="otlp-json", show_default=True)
@DB_OPTION
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None, help="Default: stdout.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the last N recall traces.")
def export_traces(fmt: str, db: str | None, output: str | None, limit: int | None) -> None:
    """Export the store's recorded recall traces as OpenTelemetry GenAI memory spans (OTLP/JSON, one
    search_memory span per recall, its hits as gen_ai.memory.records). A pure read: the store must exist."""
    from memviz.engine import open_engine
    from memviz.otel import export_otlp

    engine = open_engine(db, create=False)
    if output is None:
        done = export_otlp(engine, sys.stdout, limit)
    else:
        with open(output, "w", encoding="utf-8") as out:
            done = export_otlp(engine, out, limit)
    click.echo(f"{done['traces']} recall traces exported ({done['lines']} OTLP/JSON lines)", err=True)


@click.command("import-traces")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["otlp-json"]), default="otlp-json", show_default=True)
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def import_traces(path: str, fmt: str, db: str | None, as_json: bool) -> None:
    """Import OTLP/JSON traces of GenAI memory operations (gen_ai.operation.name search_memory, create_memory,
    update_memory, upsert_memory, delete_memory) into the store, created if missing: searches become recall
    events (past traces on the Recall page), stores become writes, deletes soft forgets, at the spans' times.
    A malformed file is refused whole and changes nothing; re-importing a file adds nothing."""
    from memviz.engine import open_engine
    from memviz.otel import import_otlp, read_plan

    ops = read_plan(path)  # the whole file is checked before the store is opened (or created)
    summary = import_otlp(open_engine(db), path, ops)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        done = ", ".join(f"{n} {op}" for op, n in sorted(summary["operations"].items()))
        click.echo(
            f"{done}: {summary['written']} memories written, {summary['recalls']} recall traces recorded, "
            f"{summary['forgotten']} forgotten; skipped {summary['skipped']}"
        )
