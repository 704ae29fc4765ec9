"""The bounds every memory, clock time and recall is checked against, in one place.

- **Times** (an event time, the simulated clock, a recall "as of"): POSIX seconds from
  :data:`MIN_TIME_S` (1900-01-01 00:00 UTC) up to, not including, :data:`MAX_TIME_S` (2200-01-01 00:00 UTC).
  The pages turn times into pandas datetimes (``pd.to_datetime(..., unit="s")``: nanoseconds with pandas 2,
  whose bounds are 1677-09-22 .. 2262-04-11) and Python datetimes (``datetime.fromtimestamp``, years 1..9999);
  the range lies inside both with 62 years to spare, so a page adding a projection (at most a year) to the
  clock stays displayable. A line dated ``9999-12-31T23:59:59-12:00`` (year 10000 in UTC) once made every page
  fail with ``ValueError: year 10000``.
- **Lengths** of a memory's id (256 characters), speaker (128), session (256) and source id (512): an id or a
  session is a key shown in labels, SQL filters and every event that names the memory; the speaker is embedded
  before the text (``{speaker} said, "{text}"``), and the encoder reads only the first 256 tokens of that, so a
  3,600-character speaker left no room for the text and gave two memories the same embedding (cosine 0.9999999 with
  all-MiniLM-L6-v2). 128 characters of speaker take at most about half the window (``"a." * 64``, the worst
  case tried, is 131 tokens) and leave the rest to the text (cosine 0.53 for the same two texts).
- **Scopes** (:attr:`memviz.models.MemoryInput.scope`: whose memory it is, one level, e.g. ``alice``,
  ``agent:run-7``, ``conv-26``): at most :data:`MAX_SCOPE_CHARS` (128) characters, each a Unicode letter or digit
  or one of ``_ - . : @ / +`` and inner spaces (:data:`SCOPE_CHARSET`), no leading or trailing space; ``""`` is the
  default scope (a store or an input that names none). A scope is a key: shown in the sidebar's selector and
  the CLI, quoted into SQL filters, compared for equality when linking; a LoCoMo sample id, a LongMemEval
  question id, a MemoryBank user name, a mem0 ``user_id`` and a Letta agent name all fit.
- **k** of a recall: at most :data:`MAX_K` hits for a recall that reinforces (every hit is strengthened,
  one event each, and the trace recorded): ``memviz recall -k 1000000`` reinforced the whole store and recorded
  a 1.6 MB trace on 2,048 memories. A recall that does not reinforce (a pure read, or an evaluation ranking a
  whole LongMemEval haystack: 550 turns in ``_s``, thousands in ``_m``) may ask for up to :data:`MAX_READ_K`
  hits and candidates. Either way a recall returns at most the live memories: its pool is what the retrievers
  find.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from memviz.errors import ConfigError

MIN_TIME_S = datetime(1900, 1, 1, tzinfo=UTC).timestamp()  # -2,208,988,800
MAX_TIME_S = datetime(2200, 1, 1, tzinfo=UTC).timestamp()  # 7,258,118,400 (excluded)
TIME_RANGE = "1900-01-01 00:00 UTC up to (not including) 2200-01-01 00:00 UTC"

MAX_ID_CHARS = 256
MAX_SPEAKER_CHARS = 128
MAX_SESSION_CHARS = 256
MAX_SOURCE_ID_CHARS = 512  # a session at its limit plus "#<line>" (JSONL's default) fits
# MemoryInput field -> (name in messages, maximum length in characters).
MAX_CHARS: dict[str, tuple[str, int]] = {
    "id": ("id", MAX_ID_CHARS),
    "speaker": ("speaker", MAX_SPEAKER_CHARS),
    "session_id": ("session", MAX_SESSION_CHARS),
    "source_id": ("source id", MAX_SOURCE_ID_CHARS),
}

MAX_SCOPE_CHARS = 128
SCOPE_CHARSET = "Unicode letters and digits, _ - . : @ / + and inner spaces"
_SCOPE = re.compile(r"[\w.:@/+\- ]*")

MAX_K = 1000  # hits of a reinforcing recall
MAX_READ_K = 100_000  # hits and candidates of any recall


def time_in_range(t_s: float | None) -> bool:
    """Whether ``t_s`` (POSIX seconds) is a finite time in the supported range (None is not)."""
    return t_s is not None and math.isfinite(t_s) and MIN_TIME_S <= t_s < MAX_TIME_S


def time_problem(t_s: float) -> str | None:
    """Why ``t_s`` (POSIX seconds) cannot be stored or shown, or None when it is in the supported range."""
    if time_in_range(t_s):
        return None
    try:
        shown = datetime.fromtimestamp(t_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):  # beyond Python's years 1..9999, or not finite
        shown = f"{t_s:,.0f} s (about year {1970 + t_s / 31_556_952:.0f} UTC)" if math.isfinite(t_s) else repr(t_s)
    return f"time {shown} is outside the supported range, {TIME_RANGE}"


def check_time(t_s: float, what: str) -> float:
    """``t_s`` as a float if it is in the supported range; else ConfigError naming ``what`` and the range."""
    problem = time_problem(float(t_s))
    if problem is not None:
        raise ConfigError(f"{what}: {problem}")
    return float(t_s)


def length_problem(field: str, value: str | None) -> str | None:
    """Why the value of MemoryInput ``field`` (one of :data:`MAX_CHARS`) is too long, or None."""
    name, limit = MAX_CHARS[field]
    if value is None or len(value) <= limit:
        return None
    return f"{name} is {len(value):,} characters long; the limit is {limit:,}"


def scope_problem(scope: object) -> str | None:
    """Why ``scope`` cannot be a memory's scope (see the module docstring: a string of at most
    :data:`MAX_SCOPE_CHARS` characters of :data:`SCOPE_CHARSET`, no leading or trailing space), or None."""
    if not isinstance(scope, str):
        return f"scope must be a string, got {type(scope).__name__}"
    if len(scope) > MAX_SCOPE_CHARS:
        return f"scope is {len(scope):,} characters long; the limit is {MAX_SCOPE_CHARS}"
    if not _SCOPE.fullmatch(scope) or scope != scope.strip():
        return f"scope {scope!r} may hold only {SCOPE_CHARSET} (no leading or trailing space)"
    return None


def check_scope(scope: str) -> str:
    """``scope`` if it is a valid scope (:func:`scope_problem`), else ConfigError saying why."""
    if (problem := scope_problem(scope)) is not None:
        raise ConfigError(problem)
    return scope


__all__ = [
    "MAX_CHARS",
    "MAX_ID_CHARS",
    "MAX_K",
    "MAX_SCOPE_CHARS",
    "MAX_READ_K",
    "MAX_SESSION_CHARS",
    "MAX_SOURCE_ID_CHARS",
    "MAX_SPEAKER_CHARS",
    "MAX_TIME_S",
    "MIN_TIME_S",
    "SCOPE_CHARSET",
    "TIME_RANGE",
    "check_scope",
    "check_time",
    "length_problem",
    "scope_problem",
    "time_in_range",
    "time_problem",
]
