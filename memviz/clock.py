"""Clocks the engine reads its time from: real time, or a simulated clock that a user advances.

A simulated clock can follow a store's saved clock (:class:`SavedClock`, the store's latest ``clock`` event; see
:func:`memviz.lifecycle.follow_store_clock`): then every engine on that store, in any process, reads the same
time, and setting or advancing it starts from the saved time, so two apps open on one store never move it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Protocol

from memviz.decay import SECONDS_PER_DAY
from memviz.errors import ConfigError
from memviz.limits import check_time


class Clock(Protocol):
    def now(self) -> float:
        """Current time, POSIX seconds (UTC)."""
        ...


class SystemClock:
    """Real wall-clock time."""

    def now(self) -> float:
        return time.time()


class SavedClock(Protocol):
    """Where a simulated clock's time is kept for everyone: a store's event log."""

    def key(self) -> Hashable:
        """A cheap value that changes whenever the saved clock may have changed (the log's version)."""
        ...

    def latest(self) -> tuple[str, float] | None:
        """``(id, time in POSIX s)`` of the latest saved clock setting, or None when none was saved."""
        ...


class SimulatedClock:
    """A clock that only moves when told to, so decay can be demonstrated and tests are deterministic.

    Following a :class:`SavedClock` (:meth:`follow`), :meth:`now` is the latest saved setting once one exists
    (looked up again only when the saved clock's ``key`` changes); a setting saved by another process is taken
    over as soon as it is seen. A :meth:`set` or :meth:`advance` that is not saved holds until a newer setting
    is saved.
    """

    def __init__(self, start_s: float):
        self._now = float(start_s)
        self._saved: SavedClock | None = None
        self._key: Hashable = object()  # the saved clock's key when last looked at (never equal at first)
        self._seen: str | None = None  # the id of the saved setting last taken over
        self._sync = threading.Lock()

    def follow(self, saved: SavedClock) -> None:
        """Read the time from ``saved`` from now on (its latest setting, when it has one)."""
        self._saved, self._key, self._seen = saved, object(), None

    def now(self) -> float:
        self.refresh()
        return self._now

    def refresh(self, force: bool = False) -> None:
        """Take over the saved clock's latest setting if it is one not taken over yet (``force``: look even if
        its key has not changed)."""
        if self._saved is None:
            return
        with self._sync:
            key = self._saved.key()
            if key == self._key and not force:
                return
            latest = self._saved.latest()
            self._key = key
            if latest is not None and latest[0] != self._seen:
                self._seen, self._now = latest

    def saved_as(self, setting_id: str) -> None:
        """Note that the current time was saved as setting ``setting_id`` (it need not be taken over again)."""
        self._seen = setting_id

    def set(self, t_s: float) -> None:
        """Set the time to ``t_s`` (POSIX s). Raises ConfigError (clock unchanged) for a time outside
        :data:`memviz.limits.TIME_RANGE`."""
        self._now = check_time(t_s, "the clock cannot be set there")

    def advance(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Move forward by ``days`` + ``seconds`` (>= 0; the clock never runs backwards by advancing).

        Returns the new time. Raises ConfigError (clock unchanged) for a negative or non-finite step, or one that
        would take the clock past the end of :data:`memviz.limits.TIME_RANGE`.
        """
        step = days * SECONDS_PER_DAY + seconds
        if not step >= 0 or step == float("inf"):
            raise ConfigError(f"the clock can only advance by a finite, non-negative step, got {step!r} s")
        self._now = check_time(self._now + step, f"the clock cannot advance by {step / SECONDS_PER_DAY:g} days")
        return self._now
