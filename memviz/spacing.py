"""Reinforcement that follows the spacing effect: the FSRS stability update, applied to memviz's decay.

A recall strengthens a memory by raising its stability S (days). The spacing effect (Ebbinghaus 1885; Cepeda
et al. 2006) says a retrieval after a longer gap, when more has been forgotten, strengthens more than an
immediate re-retrieval. :class:`SpacingRule` uses the stability update of FSRS for a successful review
(Ye, Su & Cao 2022, "A Stochastic Shortest Path Algorithm for Optimizing Spaced Repetition Scheduling", KDD;
the open-spaced-repetition FSRS-5 documentation and reference implementations):

    S' = S * (1 + e^w8 * (11 - D) * S^(-w9) * (e^(w10 * (1 - R)) - 1))

R is the retention at the moment of recall, D the difficulty (1 easy .. 10 hard). The gain grows with 1 - R
(spacing), shrinks for large S (stabilisation: strong memories gain less, relatively) and is 0 for R = 1 (an
immediate re-recall changes nothing).

Modelling choices (not FSRS's):
- FSRS reviews are graded by a human (Again/Hard/Good/Easy) and FSRS measures S as the days until R = 0.9 on
  its power-law curve. An agent's recall has no grade: every recall counts as FSRS "Good" (no Hard penalty,
  no Easy bonus), and R comes from the store's own decay model (memviz's exponential R = exp(-dt / S), where S is
  the days until R = 1/e), so the update is FSRS's functional form, with its fitted weights, on another scale.
- The difficulty is fixed per rule (FSRS updates it after each graded review; without grades there is nothing
  to update it from). The default 5.0 is about FSRS-5's initial difficulty after a first "Good"
  (D0(3) = w4 - e^(2 w5) + 1 = 5.28 with the default weights).
- S is capped at ``max_stability_days`` (FSRS's maximum interval, 36,500 days).

:class:`memviz.decay.ReinforceRule` (MemoryBank's +1 day per recall, plus a linear spacing term) remains
available; any object with the :class:`StabilityRule` method works as the engine's ``reinforce_rule``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from memviz.errors import ConfigError

# FSRS-5's default weights w8, w9, w10 (open-spaced-repetition, py-fsrs / ts-fsrs / fsrs-rs defaults).
FSRS5_W8, FSRS5_W9, FSRS5_W10 = 1.54575, 0.1192, 1.01925
FSRS_MAX_STABILITY_DAYS = 36_500.0

# field -> (low, high, what): the documented ranges, also for sliders. w8-w10's ranges are the bounds the FSRS
# optimiser clamps its fitted weights to.
SPACING_FIELDS: dict[str, tuple[float, float, str]] = {
    "difficulty": (1.0, 10.0, "FSRS difficulty D (1 easy .. 10 hard); the gain scales with 11 - D"),
    "w8": (0.0, 6.0, "FSRS w8: overall size of the gain, e^w8"),
    "w9": (0.0, 0.8, "FSRS w9: stabilisation, the gain scales with S^-w9"),
    "w10": (0.01, 5.0, "FSRS w10: spacing, the gain scales with e^(w10 (1 - R)) - 1"),
    "max_stability_days": (1.0, FSRS_MAX_STABILITY_DAYS, "cap on S after a recall (days)"),
}


class StabilityRule(Protocol):
    """How a recall changes a memory's stability: the engine's ``reinforce_rule``."""

    def apply(self, stability_days: Any, retention_now: Any) -> Any:
        """New stability (days) from S (days, > 0) and the retention R in [0, 1] at the recall; broadcasts."""
        ...


@dataclass(frozen=True)
class SpacingRule:
    """The FSRS stability update for a successful recall (see the module docstring for the formula, its source
    and the modelling choices). Fields, with their ranges (:data:`SPACING_FIELDS`):

    - ``difficulty``: D in [1, 10], fixed (default 5.0, about FSRS-5's initial difficulty after "Good").
    - ``w8`` in [0, 6], ``w9`` in [0, 0.8], ``w10`` in [0.01, 5]: FSRS-5's defaults 1.54575, 0.1192, 1.01925.
    - ``max_stability_days`` in [1, 36,500]: S never grows past it (days).

    With the defaults, a memory of S = 5 days recalled at R = 0.9 gets S' = 17 days; at R = 0.5, 82 days; at
    R = 0.05, 195 days; recalled again at once (R = 1) it keeps S. Raises ConfigError for a value out of range.
    """

    difficulty: float = 5.0
    w8: float = FSRS5_W8
    w9: float = FSRS5_W9
    w10: float = FSRS5_W10
    max_stability_days: float = FSRS_MAX_STABILITY_DAYS

    def __post_init__(self) -> None:
        for name, (low, high, _) in SPACING_FIELDS.items():
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not (low <= v <= high):
                raise ConfigError(f"spacing rule {name} must be a number in [{low:g}, {high:g}], got {v!r}")

    def gain(self, stability_days: Any, retention_now: Any) -> np.ndarray:
        """S' / S - 1 (>= 0): the relative stability increase of a recall at retention R; broadcasts."""
        s = np.maximum(np.asarray(stability_days, dtype=np.float64), 1e-9)
        r = np.clip(np.asarray(retention_now, dtype=np.float64), 0.0, 1.0)
        return np.exp(self.w8) * (11.0 - self.difficulty) * np.power(s, -self.w9) * np.expm1(self.w10 * (1.0 - r))

    def apply(self, stability_days: Any, retention_now: Any) -> np.ndarray:
        """New stability (days) after a recall: S (1 + gain), at most ``max_stability_days``, never below S."""
        s = np.asarray(stability_days, dtype=np.float64)
        return np.maximum(s, np.minimum(s * (1.0 + self.gain(s, retention_now)), self.max_stability_days))

    def to_dict(self) -> dict[str, float | str]:
        """The rule as JSON-ready data: ``{"rule": "fsrs-spacing", <fields>}``."""
        return {"rule": "fsrs-spacing"} | asdict(self)


__all__ = ["FSRS5_W8", "FSRS5_W9", "FSRS5_W10", "SPACING_FIELDS", "SpacingRule", "StabilityRule"]
