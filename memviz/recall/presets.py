"""Scoring presets: named recall configurations that reproduce published memory systems' scoring formulas.

Each preset is a :class:`~memviz.recall.config.RecallConfig` built from the engine's own components and weights
(:data:`memviz.scoring.COMPONENTS`); the score is always their weighted mean sum_c w_c x_c / sum_c w_c, so a
preset is a choice of pool, weights, normalisation, gates and graph expansion. What a source does that memviz
cannot do offline (an LLM's importance rating, spaCy entities, stochastic forgetting) is replaced by the
closest deterministic equivalent, labelled "modelling choice" in each docstring.

Use :func:`preset_config` (``preset_config("mem0", k=5)``) or :data:`PRESETS` (name -> :class:`Preset`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from memviz.errors import ConfigError
from memviz.recall.config import RecallConfig

PresetName = Literal["default", "vector", "bm25", "rrf", "generative_agents", "mem0", "memorybank", "amem", "spreading"]
PRESET_NAMES: tuple[str, ...] = get_args(PresetName)


def default() -> RecallConfig:
    """memviz's default hybrid: the pool is the reciprocal rank fusion of the vector and full-text candidates
    (Cormack et al., SIGIR 2009); score = (1.0 relevance + 0.25 lexical + 0.05 recency + 0.05 importance +
    0.01 retention) / 1.36. Relevance dominates; the small time and importance terms break near-ties (a
    modelling choice of memviz, not a published formula). The retention weight is the largest of those measured
    (0.1, 0.05, 0.03, 0.02, 0.01) at which decay costs LoCoMo dev recall@10 at most 0.01 after a replay
    (``docs/performance.md``, "Replay targets")."""
    return RecallConfig()


def vector() -> RecallConfig:
    """Pure dense retrieval: the vector candidates ranked by cosine similarity, score = relevance. The
    baseline of dense-retriever memory (e.g. the LoCoMo paper's RAG baselines, Maharana et al., ACL 2024,
    rank dialogue turns by embedding similarity alone)."""
    return RecallConfig(retrievers=("vector",), fusion=False, weights={"relevance": 1.0})


def bm25() -> RecallConfig:
    """Pure lexical retrieval: the full-text candidates ranked by BM25 (Robertson & Zaragoza, 2009, "The
    Probabilistic Relevance Framework: BM25 and Beyond"), score = BM25 / the query's best BM25. A memory that
    shares no term with the query is not retrieved at all."""
    return RecallConfig(retrievers=("fulltext",), fusion=False, weights={"lexical": 1.0})


def rrf() -> RecallConfig:
    """Hybrid by reciprocal rank fusion alone, as Graphiti/Zep's hybrid search reranks (Rasmussen et al. 2025,
    "Zep: A Temporal Knowledge Graph Architecture for Agent Memory"): RRF(d) = sum_r 1 / (60 + rank_r(d))
    over the vector and BM25 rankings (Cormack et al. 2009), normalised by its maximum 2 / 61. Graphiti's
    third retriever, breadth-first search over its knowledge graph, is left out (see ``spreading``)."""
    return RecallConfig(retrievers=("vector", "fulltext"), fusion=True, weights={"rrf": 1.0})


def generative_agents() -> RecallConfig:
    """Generative Agents retrieval (Park et al., UIST 2023, "Generative Agents: Interactive Simulacra of Human
    Behavior", section 4.1): score = alpha recency + beta importance + gamma relevance with alpha = beta =
    gamma = 1, each component min-max normalised to [0, 1]; recency = 0.995 ** hours since last access,
    relevance = cosine similarity. Modelling choices: importance is memviz's offline heuristic in [0, 1]
    instead of an LLM's 1-10 rating, and the scored set is the 200 nearest memories (the paper scores the
    whole memory stream)."""
    return RecallConfig(
        retrievers=("vector",),
        fusion=False,
        candidates=200,
        normalise="minmax",
        weights={"recency": 1.0, "importance": 1.0, "relevance": 1.0},
    )


def mem0() -> RecallConfig:
    """mem0 v3 additive scoring (mem0ai/mem0, ``mem0/utils/scoring.py`` ``score_and_rank``): candidates from
    the vector search below a semantic threshold (0.1) are dropped, then score = (semantic +
    sigmoid(BM25) + entity_boost) / max_possible, with entity_boost <= 0.5 and max_possible = 2.5; as
    weights: relevance 1, lexical 1 (sigmoid-normalised, query-length-dependent midpoint and steepness),
    entity 0.5. Modelling choices: entities are the YAKE keywords memviz extracts (mem0 uses spaCy) matched
    exactly; an entity shared by n memories boosts them by 1 / (1 + 0.001 (n - 1)^2) as in mem0; the
    divisor stays 2.5 when no candidate matches a query term (mem0 then drops BM25's 1.0 from it)."""
    return RecallConfig(
        retrievers=("vector",),
        fusion=False,
        lexical_norm="sigmoid",
        min_relevance=0.1,
        weights={"relevance": 1.0, "lexical": 1.0, "entity": 0.5},
    )


def memorybank() -> RecallConfig:
    """MemoryBank (Zhong et al., AAAI 2024, "MemoryBank: Enhancing Large Language Models with Long-Term
    Memory"): dense retrieval over the memories that survive forgetting, retention R = exp(-dt / S)
    (Ebbinghaus) with S raised on each recall. MemoryBank forgets a memory at random with probability 1 - R;
    as a deterministic modelling choice a memory is gated out when R < 0.5 (when forgetting is the likelier
    outcome). score = relevance. On old data with the clock at its end this gate can exclude almost
    everything: the trace shows every gated memory."""
    return RecallConfig(
        retrievers=("vector",),
        fusion=False,
        min_retention=0.5,
        decay_model="exponential",
        weights={"relevance": 1.0},
    )


def amem() -> RecallConfig:
    """A-MEM (Xu et al. 2025, "A-MEM: Agentic Memory for LLM Agents"): the nearest notes by embedding plus the
    notes linked to them (1 hop over the Zettelkasten links). Modelling choice, to keep one ranking sorted
    by score: the 10 best hits seed a graph stage with activation score / best score; a linked note inherits
    its hit's activation times the link weight (the strongest such path), and score = (relevance + graph) / 2,
    so a hit's linked notes rank right after it unless they are more relevant themselves."""
    return RecallConfig(
        retrievers=("vector",),
        fusion=False,
        graph_hops=1,
        graph_decay=1.0,
        graph_aggregate="max",
        graph_seeds=10,
        weights={"relevance": 1.0, "graph": 1.0},
    )


def spreading() -> RecallConfig:
    """Spreading activation over the links (Collins & Loftus 1975, "A spreading-activation theory of semantic
    processing"; for retrieval, Crestani 1997, "Application of Spreading Activation Techniques in Information
    Retrieval"): the 10 best hybrid hits start with activation score / best score; each hop passes
    a_h = 0.5 * sum_j w_ij a_(h-1),j to the neighbours (per-hop decay 0.5, two hops, summed over all paths,
    total activation clipped at 1). score = (relevance + 0.25 lexical + 0.5 graph) / 1.75, so memories that
    several hits point to rise. The decay, hops and weights are modelling choices."""
    return RecallConfig(
        graph_hops=2,
        graph_decay=0.5,
        graph_aggregate="sum",
        graph_seeds=10,
        weights={"relevance": 1.0, "lexical": 0.25, "graph": 0.5},
    )


@dataclass(frozen=True)
class Preset:
    """A named preset: its label, a one-line formula, its source and the function that builds its config."""

    name: str
    label: str
    formula: str
    source: str
    build: Callable[[], RecallConfig]

    def config(self, **overrides: Any) -> RecallConfig:
        """The preset's config with ``overrides`` (e.g. ``k=5``, ``reinforce=False``), validated."""
        return replace(self.build(), **overrides).validated()


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "default",
            "memviz default (hybrid)",
            "(rel + 0.25 lex + 0.05 rec + 0.05 imp + 0.01 ret) / 1.36 over the RRF pool",
            "memviz",
            default,
        ),
        Preset("vector", "Pure vector", "cosine similarity", "dense retrieval baseline", vector),
        Preset("bm25", "Pure BM25", "BM25 / best BM25", "Robertson & Zaragoza 2009", bm25),
        Preset(
            "rrf",
            "Reciprocal rank fusion (Graphiti)",
            "sum_r 1 / (60 + rank_r)",
            "Cormack et al. 2009; Zep/Graphiti 2025",
            rrf,
        ),
        Preset(
            "generative_agents",
            "Generative Agents",
            "minmax(recency) + minmax(importance) + minmax(relevance)",
            "Park et al. 2023",
            generative_agents,
        ),
        Preset(
            "mem0",
            "mem0 additive",
            "(semantic + sigmoid(BM25) + 0.5 entity) / 2.5, semantic >= 0.1",
            "mem0 v3 scoring.py",
            mem0,
        ),
        Preset(
            "memorybank",
            "MemoryBank (retention-gated)",
            "relevance, if exp(-dt/S) >= 0.5",
            "Zhong et al. 2024",
            memorybank,
        ),
        Preset(
            "amem",
            "A-MEM (hits + 1-hop links)",
            "(relevance + best hit activation x link weight) / 2",
            "Xu et al. 2025",
            amem,
        ),
        Preset(
            "spreading",
            "Spreading activation",
            "(rel + 0.25 lex + 0.5 activation) / 1.75, 2 hops, decay 0.5",
            "Collins & Loftus 1975; Crestani 1997",
            spreading,
        ),
    )
}


def preset_config(name: str, **overrides: Any) -> RecallConfig:
    """The validated config of preset ``name`` with ``overrides``. Raises ConfigError for an unknown name or
    bad overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown scoring preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return PRESETS[name].config(**overrides)


# Settings that define a preset's formula (k, candidates, clock, decay model and reinforcement do not).
_FORMULA_FIELDS = (
    "retrievers",
    "fusion",
    "normalise",
    "lexical_norm",
    "min_relevance",
    "min_retention",
    "graph_hops",
    "graph_decay",
    "graph_aggregate",
    "graph_seeds",
    "rrf_k",
)


def preset_of(config: dict[str, Any]) -> str | None:
    """The name of the preset whose formula a trace's ``config`` (a dict, as stored in a trace) uses, or None
    for a custom configuration (e.g. changed weights)."""
    from memviz.scoring import validate_weights

    try:
        weights = validate_weights(config.get("weights", {}))
    except ConfigError:
        return None
    for name, p in PRESETS.items():
        ref = p.config()
        if weights == dict(ref.weights) and all(
            (list(config.get(f, getattr(ref, f))) if f == "retrievers" else config.get(f, getattr(ref, f)))
            == (list(getattr(ref, f)) if f == "retrievers" else getattr(ref, f))
            for f in _FORMULA_FIELDS
        ):
            return name
    return None


__all__ = ["PRESETS", "PRESET_NAMES", "Preset", "PresetName", "preset_config", "preset_of"]
