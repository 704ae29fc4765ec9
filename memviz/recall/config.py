"""A recall's configuration: :class:`RecallConfig`, its stages and retrievers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from memviz import scoring
from memviz.decay import DECAY_MODELS, DecayModel
from memviz.errors import ConfigError
from memviz.limits import MAX_K, MAX_READ_K, scope_problem, time_problem

# The stages of every recall trace, in order; a config with graph expansion adds "graph" before "final".
# The stages of every recall, in order; a cold process's first recall starts with a "model" stage (the model's
# load), and "graph" runs before "final" when configured.
STAGES: tuple[str, ...] = ("embed", "vector", "fulltext", "fusion", "scoring", "final")

Retriever = Literal["vector", "fulltext"]
RETRIEVERS: tuple[Retriever, ...] = ("vector", "fulltext")
# Components computed per memory before the graph stage; "graph" is the graph stage's own.
BASE_COMPONENTS: tuple[str, ...] = tuple(c for c in scoring.COMPONENTS if c != "graph")


@dataclass(frozen=True)
class RecallConfig:
    """One recall's settings.

    - ``k``: hits returned (>= 1; at most :data:`memviz.limits.MAX_K`, 1,000, when the recall reinforces, else
      :data:`memviz.limits.MAX_READ_K`, 100,000; never more than the live memories). ``candidates``: how many
      each retriever (vector, full-text) returns (at most ``MAX_READ_K``).
    - ``retrievers``: the retrievers whose candidates enter the pool (both by default). Both searches always
      run so that their scores can be shown; only these feed the pool.
    - ``fusion``: True pools the retrievers' candidates by reciprocal rank fusion; False uses the first
      retriever's candidates only (by default the vector ones; full-text scores are still shown for those it
      matched).
    - ``weights``: component name -> weight (see :data:`memviz.scoring.COMPONENTS`); the score is their
      weighted mean, in [0, 1].
    - ``normalise``: ``"minmax"`` rescales each component to [0, 1] over the pool before weighting
      (Generative Agents); ``"none"`` uses the raw components.
    - ``lexical_norm``: BM25 to the lexical component: ``"max"`` (divided by the query's best BM25) or
      ``"sigmoid"`` (mem0's logistic squash, :func:`memviz.scoring.sigmoid_bm25`).
    - ``min_relevance`` / ``min_retention`` (in [0, 1]): gates; a candidate whose relevance (a semantic
      threshold, as mem0's) or retention (as MemoryBank's forgetting) is below is left out before scoring.
      Gated candidates are listed in the scoring stage's ``info["gated"]``.
    - ``graph_hops``: 0 = no graph stage; 1-3 = spread activation from the ``graph_seeds`` best scored
      candidates over the links table for that many hops, decaying by ``graph_decay`` (in (0, 1]) per hop,
      aggregated over paths by ``graph_aggregate`` (``"max"``: best path; ``"sum"``: all paths, clipped at 1);
      the activation is the ``graph`` component, which needs a positive weight (and only has one with hops).
    - ``decay_model``: the retention component's model. ``include_forgotten``: search soft-forgotten memories too.
    - ``as_of_s``: recall as of this clock time (POSIX s) instead of the engine clock: from the store as it was
      then (:mod:`memviz.asof`: memories dated later do not exist, later reinforcements are undone) and with
      recency and retention then; it cannot be combined with ``reinforce`` (a reinforcement happens at the
      engine clock). ``as_of_pool``: False keeps the whole store searchable and moves only the scoring clock
      (the benchmarks' protocol, which ranks the whole haystack: LongMemEval dates some evidence sessions after
      their question).
    - ``scope``: recall only the memories of this scope (:attr:`memviz.models.Memory.scope`; ``""`` the default
      scope); None (the default) searches every scope. The trace records it with the rest of the config.
    - ``reinforce``: a recall strengthens its hits (stability up, elapsed time reset) and records it. True by
      default: the agent's path, where recalling is using. Tools that only look (pages, ``memviz recall``
      without ``--reinforce``, evaluation) pass False and write nothing.
    - ``record``: log the recall (a ``recall`` event with its trace) so it can be reopened later; None (the
      default) records only a reinforcing recall, so a recall with ``reinforce=False`` is a pure read.
    """

    k: int = 10
    candidates: int = 50
    fusion: bool = True
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "relevance": 1.0,
            "lexical": 0.25,
            "recency": 0.05,
            "importance": 0.05,
            # Retention breaks near-ties only: on LoCoMo dev after a replay, recall@10 loses 0.008 to decay at
            # 0.01 and 0.050 at 0.1 (gold is often said once, months before, never recalled). docs/performance.md.
            "retention": 0.01,
        }
    )
    decay_model: DecayModel = "exponential"
    include_forgotten: bool = False
    reinforce: bool = True
    rrf_k: int = scoring.RRF_K
    retrievers: tuple[Retriever, ...] = RETRIEVERS
    normalise: Literal["none", "minmax"] = "none"
    lexical_norm: Literal["max", "sigmoid"] = "max"
    min_relevance: float = 0.0
    min_retention: float = 0.0
    graph_hops: int = 0
    graph_decay: float = 0.5
    graph_aggregate: Literal["max", "sum"] = "max"
    graph_seeds: int = 10
    as_of_s: float | None = None
    record: bool | None = None
    as_of_pool: bool = True
    scope: str | None = None

    def without_decay(self) -> RecallConfig:
        """This config with decay out of the score: the ``retention`` weight and the ``min_retention`` gate set to
        0 (recency, which counts hours since the last access, stays). The replay's and the evaluation's second,
        decay-free recall of a question (what decay suppressed is the difference)."""
        return replace(self, weights=dict(self.weights) | {"retention": 0.0}, min_retention=0.0)

    def validated(self) -> RecallConfig:
        """This config checked and completed (full weights, ``candidates >= k``). Raises ConfigError."""
        if not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"k must be a whole number >= 1, got {self.k!r}")
        if self.reinforce and self.k > MAX_K:
            raise ConfigError(
                f"k must be at most {MAX_K:,} for a recall that reinforces (each hit is strengthened and recorded), "
                f"got {self.k:,}; use reinforce=False (memviz recall without --reinforce) for a longer pure read"
            )
        if self.k > MAX_READ_K:
            raise ConfigError(f"k must be at most {MAX_READ_K:,}, got {self.k:,}")
        if not 1 <= self.candidates <= MAX_READ_K:
            raise ConfigError(f"candidates must be in 1..{MAX_READ_K:,}, got {self.candidates!r}")
        if self.decay_model not in DECAY_MODELS:
            raise ConfigError(f"unknown decay model {self.decay_model!r}; choose one of {', '.join(DECAY_MODELS)}")
        retrievers = tuple(self.retrievers)
        if not retrievers or len(set(retrievers)) != len(retrievers) or set(retrievers) - set(RETRIEVERS):
            raise ConfigError(f"retrievers must be distinct names among {', '.join(RETRIEVERS)}, got {retrievers!r}")
        if self.normalise not in ("none", "minmax"):
            raise ConfigError(f"normalise must be 'none' or 'minmax', got {self.normalise!r}")
        if self.lexical_norm not in ("max", "sigmoid"):
            raise ConfigError(f"lexical_norm must be 'max' or 'sigmoid', got {self.lexical_norm!r}")
        for name in ("min_relevance", "min_retention"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ConfigError(f"{name} must be a number in [0, 1], got {v!r}")
        if not isinstance(self.graph_hops, (int, np.integer)) or not 0 <= self.graph_hops <= 3:
            raise ConfigError(f"graph_hops must be 0, 1, 2 or 3, got {self.graph_hops!r}")
        if not (isinstance(self.graph_decay, (int, float)) and 0.0 < self.graph_decay <= 1.0):
            raise ConfigError(f"graph_decay must be in (0, 1], got {self.graph_decay!r}")
        if self.graph_aggregate not in ("max", "sum"):
            raise ConfigError(f"graph_aggregate must be 'max' or 'sum', got {self.graph_aggregate!r}")
        if not isinstance(self.graph_seeds, (int, np.integer)) or self.graph_seeds < 1:
            raise ConfigError(f"graph_seeds must be a whole number >= 1, got {self.graph_seeds!r}")
        weights = scoring.validate_weights(self.weights)
        if (weights["graph"] > 0) != (self.graph_hops > 0):
            raise ConfigError("the graph weight and graph_hops go together: set both (graph expansion) or neither")
        if self.as_of_s is not None and not np.isfinite(self.as_of_s):
            raise ConfigError(f"as_of_s must be a finite time in POSIX seconds, got {self.as_of_s!r}")
        if self.as_of_s is not None and (problem := time_problem(self.as_of_s)) is not None:
            raise ConfigError(f"as_of_s: {problem}")
        if self.as_of_s is not None and self.reinforce:
            raise ConfigError("an 'as of' recall cannot reinforce (reinforcement happens at the engine clock)")
        if self.scope is not None and (problem := scope_problem(self.scope)) is not None:
            raise ConfigError(problem)
        record = self.reinforce if self.record is None else bool(self.record)
        return replace(
            self, weights=weights, candidates=max(self.candidates, self.k), retrievers=retrievers, record=record
        )
