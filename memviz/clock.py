"""Clocks the engine reads its time from: real time, or a simulated clock that a user advances."""

from __future__ import annotations

import time
from typing import Protocol

from memviz.decay import SECONDS_PER_DAY
from memviz.errors import ConfigError


class Clock(Protocol):
    def now(self) -> float:
        """Current time, POSIX seconds (UTC)."""
        ...


class SystemClock:
    """Real wall-clock time."""

    def now(self) -> float:
        return time.time()


class SimulatedClock:
    """A clock that only moves when told to, so decay can be demonstrated and tests are deterministic."""

    def __init__(self, start_s: float):
        self._now = float(start_s)

    def now(self) -> float:
        return self._now

    def set(self, t_s: float) -> None:
        self._now = float(t_s)

    def advance(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Move forward by ``days`` + ``seconds`` (>= 0; the clock never runs backwards by advancing).

        Returns the new time. Raises ConfigError for a negative or non-finite step.
        """
        step = days * SECONDS_PER_DAY + seconds
        if not step >= 0 or step == float("inf"):
            raise ConfigError(f"the clock can only advance by a finite, non-negative step, got {step!r} s")
        self._now += step
        return self._now
