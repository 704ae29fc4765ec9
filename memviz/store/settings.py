"""What a store was made with: its embedder, its contextual-memory settings and its full-text tokenizer.

They are decided when the store is created and recorded in the memories table's schema, as field metadata
(``vector``: the embedder and the context; ``text``: the full-text tokenizer), so that every process opening
the store reads them with the schema, at no cost. A store written before these settings existed has none
recorded: it reads as :data:`LEGACY` (MiniLM, no context, LanceDB's default tokenizer), which is what wrote it.

- **Embedder.** Vectors of two models live in different spaces: a store refuses an engine whose embedder is
  not the one recorded (:class:`memviz.errors.EmbedderMismatchError`).
- **Context.** A memory is embedded with a context: the ``turns`` previous turns of its session (each as
  ``{speaker} said, "{text}"``) and, with ``date``, its session's date; its own text stays verbatim. With
  ``fulltext`` the full-text index searches the context too. Contextual retrieval: Anthropic, "Introducing
  Contextual Retrieval" (2024), which prepends a chunk's context before embedding and BM25 indexing.
- **Full-text.** LanceDB's FTS tokenizer (``lancedb.index.FTS``): stemming, stop-word removal and ASCII
  folding, with the stemmer's ``language``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from memviz.errors import ConfigError, EmbedderMismatchError, SettingsMismatchError

# Keys of the field metadata the settings are kept in.
EMBEDDER_KEY = "memviz.embedder"
CONTEXT_KEY = "memviz.context"
FULLTEXT_KEY = "memviz.fulltext"
MAX_CONTEXT_TURNS = 8


@dataclass(frozen=True)
class ContextSettings:
    """Contextual memories: ``turns`` previous turns of the memory's session (0..8; 0 with ``date`` False is
    off), ``date``: its session's date (the memory's event time, UTC day), ``fulltext``: the full-text index
    searches the context as well as the text."""

    turns: int = 0
    date: bool = False
    fulltext: bool = False

    @property
    def on(self) -> bool:
        return self.turns > 0 or self.date

    def validated(self) -> ContextSettings:
        if not 0 <= self.turns <= MAX_CONTEXT_TURNS:
            raise ConfigError(f"context turns must be 0..{MAX_CONTEXT_TURNS}, got {self.turns}")
        if self.fulltext and not self.on:
            raise ConfigError("the full-text index can use the context only when there is one (turns or date)")
        return self

    def label(self) -> str:
        """One line for reports, e.g. ``"1 previous turn + date (embedding and full-text)"`` or ``"off"``."""
        if not self.on:
            return "off"
        parts = [f"{self.turns} previous turn{'s' * (self.turns != 1)}"] if self.turns else []
        parts += ["date"] if self.date else []
        return " + ".join(parts) + (" (embedding and full-text)" if self.fulltext else " (embedding)")


@dataclass(frozen=True)
class FulltextSettings:
    """LanceDB FTS tokenizer options (``lancedb.index.FTS``; the ``simple`` base tokenizer, lower-cased)."""

    stem: bool = True
    remove_stop_words: bool = True
    ascii_folding: bool = True
    language: str = "English"

    def fts_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``lancedb.index.FTS``."""
        return asdict(self)

    def label(self) -> str:
        on = [n for n, v in (("stem", self.stem), ("stop words", self.remove_stop_words)) if v]
        on += ["ASCII folding"] if self.ascii_folding else []
        return f"{self.language}: {', '.join(on) or 'no stemming, stop words or folding'}"


@dataclass(frozen=True)
class StoreSettings:
    """A store's embedder (``embedder``: the model's name, or the path / hub id it was given; ``dim``: its
    vectors' dimension), ``context`` and ``fulltext``."""

    embedder: str = "all-MiniLM-L6-v2"
    dim: int = 384
    context: ContextSettings = field(default_factory=ContextSettings)
    fulltext: FulltextSettings = field(default_factory=FulltextSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def vector_metadata(self) -> dict[str, str]:
        return {
            EMBEDDER_KEY: json.dumps({"name": self.embedder, "dim": self.dim}),
            CONTEXT_KEY: json.dumps(asdict(self.context)),
        }

    def text_metadata(self) -> dict[str, str]:
        return {FULLTEXT_KEY: json.dumps(asdict(self.fulltext))}

    def label(self) -> str:
        """One line: ``embedder NAME (DIM-d); context ...; full-text ...``."""
        return (
            f"embedder {self.embedder} ({self.dim}-d); context {self.context.label()}; "
            f"full-text {self.fulltext.label()}"
        )

    def with_embedder(self, name: str, dim: int) -> StoreSettings:
        return replace(self, embedder=name, dim=int(dim))


# What wrote a store that records no settings: every store before they were recorded.
LEGACY = StoreSettings()
# What a new store is made with unless told otherwise: the two previous turns as context, for the embedding and
# the full-text index; chosen from the LoCoMo dev measurements (docs/recall_and_evaluation.md, "Store settings").
DEFAULT = StoreSettings(context=ContextSettings(turns=2, fulltext=True))


def from_schema(schema: Any) -> StoreSettings:
    """The settings recorded in a memories table's Arrow ``schema`` (:data:`LEGACY` for what is not recorded).
    Raises ConfigError when a recorded value cannot be read (the store was written by another memviz)."""

    def read(name: str, key: str) -> dict[str, Any] | None:
        meta = schema.field(name).metadata or {}
        raw = meta.get(key.encode())
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise ConfigError(f"the store's {key} setting is not JSON: {raw[:80]!r}") from None
        if not isinstance(value, dict):
            raise ConfigError(f"the store's {key} setting is not an object: {raw[:80]!r}")
        return value

    dim = schema.field("vector").type.list_size
    emb = read("vector", EMBEDDER_KEY) or {"name": LEGACY.embedder}
    ctx = read("vector", CONTEXT_KEY)
    fts = read("text", FULLTEXT_KEY)
    try:
        return StoreSettings(
            embedder=str(emb["name"]),
            dim=int(dim),
            context=ContextSettings(**ctx) if ctx else LEGACY.context,
            fulltext=FulltextSettings(**fts) if fts else LEGACY.fulltext,
        )
    except (TypeError, KeyError) as e:
        raise ConfigError(f"the store's settings cannot be read ({e}); it was written by another memviz") from None


def check_settings(uri: str, stored: StoreSettings, asked: StoreSettings) -> None:
    """Raise SettingsMismatchError when the context or tokenizer ``asked`` for differ from those the store at
    ``uri`` was made with (``stored``)."""
    for what, a, s in (("context", asked.context, stored.context), ("full-text", asked.fulltext, stored.fulltext)):
        if a != s:
            raise SettingsMismatchError(
                f"the memory store at {uri} was made with {what} settings {s.label()}, not {a.label()}; "
                "use a new store for other settings"
            )


def check_embedder(uri: str, stored: StoreSettings, name: str, dim: int) -> None:
    """Raise EmbedderMismatchError when the embedder ``name`` (``dim``-d) is not the one the store at ``uri``
    holds the vectors of: two models' vectors live in different spaces, and mixing them corrupts recall."""
    if (name, int(dim)) != (stored.embedder, stored.dim):
        raise EmbedderMismatchError(
            f"the memory store at {uri} holds vectors of the embedder {stored.embedder!r} ({stored.dim}-d), not "
            f"{name!r} ({dim}-d): mixing two models' vectors would corrupt recall. Use --embedder "
            f"{stored.embedder} with this store, or a new store for the other model"
        )


__all__ = [
    "check_embedder",
    "check_settings",
    "DEFAULT",
    "LEGACY",
    "MAX_CONTEXT_TURNS",
    "ContextSettings",
    "FulltextSettings",
    "StoreSettings",
    "from_schema",
]
