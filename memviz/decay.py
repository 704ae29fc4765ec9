"""Retention: how much of a memory is left after some time, and how recall strengthens it.

Pure, vectorised functions of elapsed time (days) and stability (days). Every function accepts scalars or
numpy arrays and broadcasts; retention values are in [0, 1].

Models
------
- ``exponential``: Ebbinghaus' forgetting curve as used by MemoryBank (Zhong et al., AAAI 2024,
  arXiv 2305.10250): R = exp(-dt / S). (MemoryBank's released code writes ``exp(-t / 5*S)``, which by operator
  precedence makes stronger memories fade faster; this is the intended form.)
- ``power``: power-law forgetting (Wixted & Ebbesen 1991): R = (1 + dt / S)^(-d), with S as the time scale.
- ``actr``: ACT-R base-level activation (Anderson & Lebiere 1998): B = ln(sum_j (t - t_j)^(-d)) over all past
  accesses t_j, mapped to a retrieval probability P = 1 / (1 + exp(-(B - tau) / s)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from memviz.errors import ConfigError

DecayModel = Literal["exponential", "power", "actr"]
DECAY_MODELS: tuple[str, ...] = ("exponential", "power", "actr")

SECONDS_PER_DAY = 86_400.0
# ACT-R: accesses closer than a minute are clipped, so (t - t_j)^-d stays finite right after a write.
_ACTR_MIN_AGE_DAYS = 1.0 / 1440.0


@dataclass(frozen=True)
class DecayParams:
    """Parameters of the decay models.

    - ``power_d``: exponent d of the power law (Wixted & Ebbesen fit d ~ 0.5 for many data sets).
    - ``actr_d``: ACT-R decay d (0.5 is the ACT-R default).
    - ``actr_tau``: retrieval threshold tau (activation units). Ages are measured in days here (a modelling
      choice), so with tau = 0 a memory accessed once, one day ago, has P = 0.5.
    - ``actr_s``: logistic noise s of the retrieval probability (ACT-R's default range 0.2-0.5).
    """

    power_d: float = 0.5
    actr_d: float = 0.5
    actr_tau: float = 0.0
    actr_s: float = 0.4

    def __post_init__(self) -> None:
        for name in ("power_d", "actr_d", "actr_s"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ConfigError(f"decay parameter {name} must be a positive number, got {v!r}")
        if not np.isfinite(self.actr_tau):
            raise ConfigError(f"decay parameter actr_tau must be finite, got {self.actr_tau!r}")


def exponential_retention(elapsed_days, stability_days):
    """Ebbinghaus / MemoryBank retention R = exp(-dt / S).

    ``elapsed_days`` (>= 0; negative values, i.e. memories from the future of the clock, count as 0) and
    ``stability_days`` (> 0) broadcast; returns R in (0, 1].
    """
    dt = np.maximum(np.asarray(elapsed_days, dtype=np.float64), 0.0)
    return np.exp(-dt / np.asarray(stability_days, dtype=np.float64))


def power_retention(elapsed_days, stability_days, d: float = 0.5):
    """Power-law retention R = (1 + dt / S)^(-d) (Wixted & Ebbesen 1991); R in (0, 1]."""
    dt = np.maximum(np.asarray(elapsed_days, dtype=np.float64), 0.0)
    return np.power(1.0 + dt / np.asarray(stability_days, dtype=np.float64), -d)


def actr_activation(now_s: float, access_times_s: np.ndarray, offsets: np.ndarray, d: float = 0.5) -> np.ndarray:
    """ACT-R base-level activation B_i = ln(sum_j age_ij^(-d)) for many memories at once.

    The accesses of all memories are flattened: memory i owns ``access_times_s[offsets[i]:offsets[i+1]]``
    (POSIX seconds; the Arrow list-array layout). ``offsets`` has shape (n + 1,). Ages are in days, clipped
    below at one minute; accesses after ``now_s`` are ignored (they have not happened yet at that time).
    A memory with no access at ``now_s`` gets -inf. Returns shape (n,).
    Source: Anderson & Lebiere (1998), The Atomic Components of Thought, base-level learning equation.
    """
    access = np.asarray(access_times_s, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    age_days = (now_s - access) / SECONDS_PER_DAY
    terms = np.where(age_days >= 0, np.power(np.maximum(age_days, _ACTR_MIN_AGE_DAYS), -d), 0.0)
    # Sum each memory's slice; reduceat needs non-empty slices, so sum by owner index instead.
    owner = np.repeat(np.arange(n), np.diff(offsets))
    sums = np.bincount(owner, weights=terms, minlength=n)
    with np.errstate(divide="ignore"):
        return np.log(sums)


def actr_probability(activation, tau: float = 0.0, s: float = 0.4):
    """ACT-R retrieval probability P = 1 / (1 + exp(-(B - tau) / s)), in [0, 1]."""
    b = np.asarray(activation, dtype=np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-(b - tau) / s))


def retention(
    model: DecayModel,
    now_s: float,
    last_access_s,
    stability_days,
    access_times_s: np.ndarray | None = None,
    offsets: np.ndarray | None = None,
    params: DecayParams = DecayParams(),
) -> np.ndarray:
    """Retention of many memories at clock time ``now_s`` (POSIX seconds) under ``model``; shape (n,), [0, 1].

    ``last_access_s`` (n,) is when each memory was last written or recalled; ``stability_days`` (n,) its S.
    The ``actr`` model needs every access instead (``access_times_s``, ``offsets``; see :func:`actr_activation`).
    Raises ConfigError for an unknown model.
    """
    if model == "exponential":
        return exponential_retention((now_s - np.asarray(last_access_s)) / SECONDS_PER_DAY, stability_days)
    if model == "power":
        return power_retention((now_s - np.asarray(last_access_s)) / SECONDS_PER_DAY, stability_days, params.power_d)
    if model == "actr":
        if access_times_s is None or offsets is None:
            raise ConfigError("the actr decay model needs every access time of each memory")
        b = actr_activation(now_s, access_times_s, offsets, params.actr_d)
        return actr_probability(b, params.actr_tau, params.actr_s)
    raise ConfigError(f"unknown decay model {model!r}; choose one of {', '.join(DECAY_MODELS)}")


@dataclass(frozen=True)
class ReinforceRule:
    """How a recall strengthens a memory (a modelling choice, documented here).

    S' = S + increment_days + gain * S * (1 - R)

    - ``increment_days``: MemoryBank's rule (Zhong et al. 2024) adds a fixed amount to S on every recall
      (their code: +1); this is that term.
    - ``gain``: the spacing effect (as in SuperMemo/FSRS): a recall when retention R has already fallen
      strengthens more than an immediate re-recall. 0 gives pure MemoryBank.
    The elapsed time is reset by the recall itself (last access = now).
    """

    increment_days: float = 1.0
    gain: float = 1.0

    def __post_init__(self) -> None:
        if (
            not (np.isfinite(self.increment_days) and np.isfinite(self.gain))
            or self.increment_days < 0
            or self.gain < 0
        ):
            raise ConfigError("reinforcement increment_days and gain must be finite and >= 0")

    def apply(self, stability_days, retention_now):
        """New stability (days) after a recall, given S and the retention R at the moment of recall."""
        s = np.asarray(stability_days, dtype=np.float64)
        r = np.clip(np.asarray(retention_now, dtype=np.float64), 0.0, 1.0)
        return s + self.increment_days + self.gain * s * (1.0 - r)


def initial_stability_days(importance, base_days: float = 2.0, importance_gain: float = 4.0):
    """Stability of a new memory: S0 = base_days * (1 + importance_gain * importance).

    Important memories start more stable (a modelling choice echoing MemoryBank's "significance"); with the
    defaults S0 ranges from 2 days (importance 0) to 10 days (importance 1).
    """
    return base_days * (1.0 + importance_gain * np.asarray(importance, dtype=np.float64))


def last_access_s(rows) -> np.ndarray:
    """When decay counts from, per row of a memories-table read (Arrow, with ``event_time_s``,
    ``created_time_s`` and ``last_recalled_s``): the latest of the event (or creation) time and the last
    recall. POSIX seconds, shape (n,); NaN when none is known."""
    import pyarrow.compute as pc

    base = pc.coalesce(rows.column("event_time_s"), rows.column("created_time_s")).to_numpy(zero_copy_only=False)
    recalled = rows.column("last_recalled_s").fill_null(np.nan).to_numpy(zero_copy_only=False)
    return np.fmax(np.asarray(base, np.float64), np.asarray(recalled, np.float64))


def rows_retention(rows, last_access: np.ndarray, model: DecayModel, now_s: float, params: DecayParams) -> np.ndarray:
    """:func:`retention` of each row of a memories-table read (Arrow, with ``stability_days`` and, for ACT-R,
    ``access_times_s``) at ``now_s`` given its ``last_access`` (see :func:`last_access_s`): shape (n,), [0, 1]."""
    access = offsets = None
    if model == "actr":
        col = rows.column("access_times_s").combine_chunks()
        access, offsets = col.flatten().to_numpy(zero_copy_only=False), col.offsets.to_numpy()
    return retention(model, now_s, last_access, rows.column("stability_days").to_numpy(), access, offsets, params)
