"""The ``memviz`` command line. Its JSON outputs are a stable contract: other tools read them.

Errors from bad input are one line on stderr and exit code 2; progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from memviz.cli_options import (
    DB_OPTION,
    EMBEDDER_OPTION,
    RERANKER_OPTION,
    pop_settings,
    scope_option,
    settings_options,
)
from memviz.errors import MemvizError

if TYPE_CHECKING:
    from memviz.decay import DecayModel
    from memviz.importers import Format


def _fail(e: Exception) -> None:
    raise click.ClickException(str(e)) from e


class _Group(click.Group):
    """Turns MemvizError into a clean one-line error with exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MemvizError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="memviz")
def main() -> None:
    """memviz: an explorer for AI agents' memory (write, link, decay, recall)."""


STORE_OPTIONS = {
    "collection": "chroma: import only this collection (default: all). mem0: its vector-store collection (mem0).",
    "table": "lancedb: the table (default: the only one).",
    "text_column": "lancedb: the column holding the text (required).",
    "id_column": "lancedb: the id column (default: <table>:<row>).",
    "time_column": "lancedb: the time column (timestamp, POSIX seconds or date strings).",
    "speaker_column": "lancedb: the speaker column.",
    "vectors": "mem0: its Qdrant folder, when not beside the history file.",
}


def _store_options(f):
    """The options of the importers of other engines' stores (memviz.importers.StoreOptions)."""
    for name, help in reversed(STORE_OPTIONS.items()):
        f = click.option(f"--{name.replace('_', '-')}", name, default=None, help=help)(f)
    return f


@main.command()
@click.argument("path", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["locomo", "longmemeval", "memorybank", "jsonl", "letta", "chroma", "mem0", "lancedb"]),
)
@DB_OPTION
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@EMBEDDER_OPTION
@settings_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@scope_option(
    "Put every memory of the file in this scope (overrides the scopes the importer gives: a LoCoMo conversation, "
    "a LongMemEval question, a MemoryBank user, a JSONL line's \"scope\"...). '' is the default scope."
)
@_store_options
def ingest(
    path: str,
    fmt: Format,
    db: str | None,
    batch_size: int,
    embedder: str | None,
    as_json: bool,
    scope: str | None,
    **options: Any,
) -> None:
    """Import a data set, or another engine's store (chroma, mem0, lancedb: PATH is its folder; letta: an .af
    file), into the store, created if missing (each batch all-or-nothing; re-running skips stored ids; input
    refused as a whole changes nothing; the source is never written to). Each memory goes to its scope (the
    importer's, or --scope). A new store is made with the embedder,
    context and full-text settings given (recorded in it); an existing one must have been made with those given."""
    import time

    from tqdm import tqdm

    from memviz.engine import open_engine
    from memviz.importers import StoreOptions, load

    settings = pop_settings(options)
    store_options = StoreOptions(**options)
    data = load(path, fmt, store_options)
    engine = open_engine(db, embedder=embedder, settings=settings)
    t0 = time.perf_counter()
    with tqdm(total=len(data), unit="mem", desc="ingest", file=sys.stderr, disable=None) as bar:
        reports = engine.ingest(
            data.items(scope),
            batch_size=batch_size,
            source={"path": os.path.abspath(path), "format": fmt}
            | store_options.given()
            | ({} if scope is None else {"scope": scope}),
            progress=lambda done, total: bar.update(done - bar.n),
        )
    elapsed = time.perf_counter() - t0
    written = sum(len(r.items) for r in reports)
    summary: dict[str, Any] = {
        "path": path,
        "format": fmt,
        "db": engine.store.uri,
        "read": len(data),
        "written": written,
        "skipped": sum(len(r.skipped_ids) for r in reports),
        "links": sum(r.n_links for r in reports),
        "batches": len(reports),
        "seconds": round(elapsed, 3),
        "memories_per_s": round(written / elapsed, 1) if elapsed > 0 else None,
        "settings": engine.store.settings.to_dict(),
        "store": engine.stats(),
    }
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        click.echo(
            f"{summary['written']} memories written ({summary['skipped']} already stored), {summary['links']} links, "
            f"{summary['batches']} batches in {summary['seconds']} s ({summary['memories_per_s']} memories/s) "
            f"-> {summary['db']} (now {summary['store']['memories']} memories)\n" + engine.store.settings.label()
        )


def _as_of_s(text: str) -> float:
    """POSIX seconds of an --as-of date (dateutil; naive = UTC). Raises ConfigError naming the bad date."""
    from memviz.errors import ConfigError
    from memviz.importers._base import parse_time
    from memviz.limits import check_time

    try:
        t = parse_time(text)
    except ValueError as e:
        raise ConfigError(f"--as-of: {e}; give a date such as 2023-05-08 or '8 May 2023 13:56' (UTC)") from None
    return check_time(t, "--as-of")


@main.command()
@click.argument("query")
@DB_OPTION
@click.option(
    "-k", "k", default=10, show_default=True, type=int, help="Number of hits (at most 1000 when reinforcing)."
)
@click.option(
    "--decay",
    "decay_model",
    default="exponential",
    show_default=True,
    type=click.Choice(["exponential", "power", "actr"]),
)
@click.option("--no-fusion", is_flag=True, help="Vector candidates only (no reciprocal rank fusion with BM25).")
@click.option(
    "--reinforce/--no-reinforce",
    default=False,
    show_default=True,
    help="--reinforce uses the memories as an agent does: it writes (strengthens the hits and records the recall). "
    "By default a recall is a pure read that writes nothing (--no-reinforce, kept for scripts, says the same).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE",
    help="Recall from the store as it was at DATE (any date dateutil reads, e.g. 2023-05-08 or '8 May 2023 "
    "13:56'; without a time zone: UTC): memories written later do not exist, later reinforcements are undone.",
)
@click.option("--include-forgotten", is_flag=True, help="Search soft-forgotten memories too.")
@scope_option("Recall only the memories of this scope ('' the default scope). Default: every scope.")
@EMBEDDER_OPTION
@RERANKER_OPTION
@click.option("--json", "as_json", is_flag=True, help='Print {"hits": [...], "trace": {...}} as one JSON object.')
def recall(
    query: str,
    db: str | None,
    k: int,
    decay_model: DecayModel,
    no_fusion: bool,
    reinforce: bool,
    as_of: str | None,
    include_forgotten: bool,
    scope: str | None,
    embedder: str | None,
    reranker: str | None,
    as_json: bool,
) -> None:
    """Recall memories for QUERY, with the score components of each hit and the full trace.

    The store must exist (a recall never creates one). Looking writes nothing: without --reinforce the store's
    version and event log are unchanged, so it works on a read-only store. --reinforce (the agent's use of its
    memory) strengthens the hits and records the recall; it cannot be combined with --as-of."""
    from memviz.engine import RecallConfig, open_engine

    cfg = RecallConfig(
        k=k,
        decay_model=decay_model,
        fusion=not no_fusion,
        reinforce=reinforce,
        include_forgotten=include_forgotten,
        as_of_s=None if as_of is None else _as_of_s(as_of),
        scope=scope,
    ).validated()  # bad settings are named before the store is opened
    engine = open_engine(db, create=False, embedder=embedder, reranker=reranker)
    result = engine.recall(query, cfg)
    if as_json:
        hits = [
            {
                "id": h.memory.id,
                "text": h.memory.text,
                "source_id": h.memory.source_id,
                "speaker": h.memory.speaker,
                "session_id": h.memory.session_id,
                "scope": h.memory.scope,
                "rank": h.rank,
                "score": h.score,
                "components": h.components,
            }
            for h in result.hits
        ]
        click.echo(json.dumps({"hits": hits, "trace": result.trace.to_dict()}))
        return
    for h in result.hits:
        parts = " ".join(f"{c}={v:.2f}" for c, v in h.components.items())
        click.echo(
            f"{h.rank:>3}. {h.score:.3f} [{h.memory.label}] {h.memory.speaker}: {h.memory.text[:100]}\n      {parts}"
        )
    click.echo(f"({result.trace.total_ms:.0f} ms)", err=True)


@main.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(db: str | None, as_json: bool) -> None:
    """Counts of the store: memories, links by kind, events, memories by scope, version. A pure read: the store
    must exist, nothing is written (a read-only store works)."""
    from memviz.store import MemoryStore

    s = MemoryStore(db, create=False).stats()
    if as_json:
        click.echo(json.dumps(s))
    else:
        links = ", ".join(f"{n} {k}" for k, n in sorted(s["links"].items())) or "none"
        click.echo(
            f"{s['memories']} memories ({s['forgotten']} forgotten), links: {links}, "
            f"{s['events']} events, {len(s['scopes'])} scope(s), version {s['version']}"
        )
        if set(s["scopes"]) - {""}:
            click.echo("scopes: " + ", ".join(f"{name or '(default)'} {n}" for name, n in s["scopes"].items()))


def _report(report, as_json: bool, event=None) -> None:
    """Print a check report (and a repair's event) as text or one JSON object; exit 1 when findings remain."""
    if as_json:
        click.echo(json.dumps(report.to_dict() | ({"repaired": event.payload["fixed"]} if event else {})))
    else:
        if event is not None:
            click.echo(
                "repaired: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in event.payload["fixed"].items())
            )
        click.echo(f"{report.memories} memories, {report.links} links, {report.events} events")
        for f in report.findings:
            how = "repairable: memviz repair" if f.repairable else "not repairable from the store"
            click.echo(f"  {f.kind}: {f.count} ({f.detail}; {how}) e.g. {', '.join(f.ids[:3])}")
        click.echo("consistent" if report.ok else f"{len(report.findings)} problem(s)")
    if not report.ok:
        raise SystemExit(1)


def _existing_store(db: str | None):
    from memviz.store import MemoryStore

    return MemoryStore(db, create=False)


@main.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(db: str | None, as_json: bool) -> None:
    """Check the store's consistency: batches vs memories, dangling links, flags and recall counts vs the event
    log, the full-text index. Exit 0 when consistent, 1 when something is wrong (each finding says whether
    ``memviz repair`` can fix it)."""
    from memviz.store.check import check as check_store

    _report(check_store(_existing_store(db)), as_json)


@main.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def repair(db: str | None, as_json: bool) -> None:
    """Rebuild what the store's tables and log determine (dangling links, forgotten flags and recall counts from
    the log, the full-text index), recorded as a ``repair`` event; then print what is left, as ``check`` does."""
    from memviz.lifecycle import clock_start_for
    from memviz.store.check import repair as repair_store

    store = _existing_store(db)
    report, event = repair_store(store, clock_start_for(store))
    _report(report, as_json, event)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@DB_OPTION
@click.option("--port", default=8501, show_default=True, type=int)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The app can import files by path and prune memories: expose it (0.0.0.0) only "
    "on a network you trust.",
)
@EMBEDDER_OPTION
@RERANKER_OPTION
@click.pass_context
def app(ctx: click.Context, db: str | None, port: int, host: str, embedder: str | None, reranker: str | None) -> None:
    """Start the Streamlit app, on this machine only unless ``--host`` says otherwise (extra options go to
    ``streamlit run``). This process becomes Streamlit's (exec): a SIGTERM or Ctrl-C stops the app itself, and no
    child is left running. Streamlit's file watcher is off (the installed app does not change under it, and
    watching a virtual environment overflowed inotify); pass ``--server.fileWatcherType auto`` to edit pages live.
    ``--embedder`` / ``--reranker`` (or $MEMVIZ_EMBEDDER / $MEMVIZ_RERANKER) are the app's models: the embedder of
    the stores it makes (a store it opens keeps its own, and refuses another), the reranker of its recalls."""
    app_py = Path(__file__).resolve().parent.parent / "app.py"
    if not app_py.exists():
        raise MemvizError(f"app.py not found next to the memviz package ({app_py}); reinstall memviz")
    env = os.environ | {
        k: v for k, v in (("MEMVIZ_DB", db), ("MEMVIZ_EMBEDDER", embedder), ("MEMVIZ_RERANKER", reranker)) if v
    }
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_py),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *ctx.args,
    ]
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)


@main.command("replay")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["locomo", "longmemeval", "memorybank", "jsonl"]))
@click.option("--db", "db", required=True, help="Folder of the replay's stores: one per group, <db>/<group>.")
@click.option("--recall-k", default=5, show_default=True, type=click.IntRange(1, 1000), help="Hits per turn recall.")
@click.option("--questions", is_flag=True, help="Ask the data set's questions at their time, with and without decay.")
@click.option("--group", "groups", multiple=True, help="Only this group (conversation); repeatable. Default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def replay_cmd(
    path: str, fmt: Format, db: str, recall_k: int, questions: bool, groups: tuple[str, ...], as_json: bool
) -> None:
    """Replay a data set turn by turn in time order: before each turn is written the agent recalls with its
    text (reinforcing the hits, logged with the trace), then the turn is written and linked. Interrupted, a
    rerun resumes where it stopped (see memviz.replay)."""
    from tqdm import tqdm

    from memviz.replay import ReplayConfig, replay

    cfg = ReplayConfig(recall_k=recall_k, questions=questions, groups=groups)
    with tqdm(total=None, unit="turn", desc="replay", file=sys.stderr, disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = replay(path, fmt, db, cfg, progress=progress)
    s = result.summary()
    if as_json:
        click.echo(json.dumps(s))
        return
    q = s["questions"]
    click.echo(
        f"{s['turns']} turns replayed -> {s['memories']} memories, {s['recalls']} recalls, "
        f"{s['reinforced_memories']} memories reinforced; at the end {s['share_above_forget_threshold']:.0%} above "
        f"the forget threshold (retention p10/p50/p90 {s['retention_end']['p10']}/{s['retention_end']['p50']}/"
        f"{s['retention_end']['p90']}) in {s['duration_s']} s"
        + (
            f"; {q['n']} questions: recall@10 {q['recall@10_decay']} with decay, {q['recall@10_no_decay']} without, "
            f"{q['gold_suppressed_by_decay']} gold memories suppressed by decay"
            if questions
            else ""
        )
    )


# Commands defined beside their subsystems, registered after the core ones.
from memviz.agent_cli import export_traces, import_traces, mcp_cmd  # noqa: E402
from memviz.attention.cli import sinks  # noqa: E402
from memviz.bench import bench_group  # noqa: E402
from memviz.evaluate.cli import eval_group  # noqa: E402

main.add_command(eval_group, name="eval")
main.add_command(sinks)
main.add_command(bench_group, name="bench")
main.add_command(mcp_cmd)
main.add_command(export_traces)
main.add_command(import_traces)

if __name__ == "__main__":  # pragma: no cover
    main()
