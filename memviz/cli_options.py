"""Command-line options shared by the ``memviz`` commands: the store (``--db``), the embedder, a new
store's settings (contextual memories, full-text tokenizer; :mod:`memviz.store.settings`), the reranker and
a scope (``--scope``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from memviz.limits import scope_problem
from memviz.store.settings import DEFAULT, MAX_CONTEXT_TURNS, ContextSettings, FulltextSettings, StoreSettings

DB_OPTION = click.option(
    "--db",
    "db",
    default=None,
    envvar="MEMVIZ_DB",
    show_envvar=True,
    help="Store location (a folder or object-storage URI). Default: .memviz",
)
EMBEDDER_OPTION = click.option(
    "--embedder",
    default=None,
    metavar="PATH_OR_ID",
    help="A sentence-transformers model folder or hub id (in the local cache; the hub is offline). Default: the "
    "store's own, the packaged all-MiniLM-L6-v2 for a new store. A store refuses another embedder than its own.",
)
RERANKER_OPTION = click.option(
    "--reranker",
    default=None,
    metavar="PATH_OR_ID",
    help="Rerank the best candidates with this sentence-transformers CrossEncoder (a folder or cached hub id). "
    "Default: no reranking.",
)


class ScopeType(click.ParamType):
    """A memory's scope (:func:`memviz.limits.scope_problem`: at most 128 characters of letters, digits,
    ``_ - . : @ / +`` and inner spaces); ``""`` is the default scope."""

    name = "scope"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if (problem := scope_problem(value)) is not None:
            self.fail(problem, param, ctx)
        return str(value)


def scope_option(help: str) -> Callable:
    """``--scope NAME`` (default None: no scope given) with ``help``."""
    return click.option("--scope", "scope", default=None, type=ScopeType(), metavar="NAME", help=help)


_SETTINGS = [
    click.option(
        "--context-turns",
        type=click.IntRange(0, MAX_CONTEXT_TURNS),
        default=None,
        help=f"New store: embed each memory with this many previous turns of its session (default "
        f"{DEFAULT.context.turns}).",
    ),
    click.option(
        "--context-date/--no-context-date",
        default=None,
        help=f"New store: embed each memory with its date (default {'on' if DEFAULT.context.date else 'off'}).",
    ),
    click.option(
        "--context-fulltext/--no-context-fulltext",
        default=None,
        help="New store: the full-text index searches the context too "
        f"(default {'on' if DEFAULT.context.fulltext else 'off'}).",
    ),
    click.option("--fts-stem/--no-fts-stem", default=None, help="New store: stem full-text terms (default on)."),
    click.option(
        "--fts-stop-words/--no-fts-stop-words",
        default=None,
        help="New store: drop stop words from the full-text index (default on).",
    ),
    click.option(
        "--fts-ascii-folding/--no-fts-ascii-folding",
        default=None,
        help="New store: fold accented letters to ASCII in the full-text index (default on).",
    ),
]
SETTING_NAMES = (
    "context_turns",
    "context_date",
    "context_fulltext",
    "fts_stem",
    "fts_stop_words",
    "fts_ascii_folding",
)


def settings_options(f: Callable) -> Callable:
    """Add the new-store settings options to a click command (they reach it as :data:`SETTING_NAMES`)."""
    for option in reversed(_SETTINGS):
        f = option(f)
    return f


def settings_from(options: dict[str, Any]) -> StoreSettings | None:
    """The store settings the options ask for (unset ones from :data:`memviz.store.settings.DEFAULT`), or None
    when none was given (then an existing store is used with its own). Raises ConfigError for a bad mix."""
    given = {k: options.get(k) for k in SETTING_NAMES}
    if all(v is None for v in given.values()):
        return None

    def pick(name: str, default: Any) -> Any:
        return default if given[name] is None else given[name]

    ctx, fts = DEFAULT.context, DEFAULT.fulltext
    turns, date = pick("context_turns", ctx.turns), pick("context_date", ctx.date)
    # The default's full-text context only where there is a context to search.
    context = ContextSettings(turns, date, pick("context_fulltext", ctx.fulltext and (turns > 0 or date))).validated()
    fulltext = FulltextSettings(
        stem=pick("fts_stem", fts.stem),
        remove_stop_words=pick("fts_stop_words", fts.remove_stop_words),
        ascii_folding=pick("fts_ascii_folding", fts.ascii_folding),
        language=fts.language,
    )
    return replace(DEFAULT, context=context, fulltext=fulltext)


def pop_settings(options: dict[str, Any]) -> StoreSettings | None:
    """:func:`settings_from` the options, removing them from ``options``."""
    settings = settings_from(options)
    for k in SETTING_NAMES:
        options.pop(k, None)
    return settings


__all__ = [
    "EMBEDDER_OPTION",
    "RERANKER_OPTION",
    "SETTING_NAMES",
    "ScopeType",
    "pop_settings",
    "scope_option",
    "settings_from",
    "settings_options",
]
