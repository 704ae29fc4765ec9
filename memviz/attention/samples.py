"""Default texts for the attention views, each with the name of what it is.

A text and its label come from one object (:class:`Passage`, :class:`PromptExample`), so the page names the
text it actually shows: a real LoCoMo passage when the shared data is present, else the built-in passage.

LoCoMo (Maharana et al., ACL 2024; CC BY-NC 4.0) is read from the shared data folder, never copied into the
repository: ``$MEMVIZ_LOCOMO`` if set, else ``../shared/data/locomo/locomo_dev.json`` next to the repository.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from memviz.attention.prompt import memory_line

#: Used when the LoCoMo file is not there (written for memviz; not from any data set).
BUILTIN_PASSAGE = (
    "Ana: I finally planted the tomato seedlings on the balcony this morning.\n"
    "Ben: Nice! Last year the pigeons ate every one of them, right?\n"
    "Ana: Yes, so this time I put a net over the pots. My sister gave me the seeds in March.\n"
    "Ben: I remember, she brought them back from her trip to Lisbon.\n"
    "Ana: Exactly. If they grow, I will make the sauce she taught me."
)
#: The name of :data:`BUILTIN_PASSAGE` wherever it is shown.
BUILTIN_LABEL = "the built-in passage (written for memviz, not from a data set)"
TYPED_LABEL = "text typed on the page"


@dataclass(frozen=True)
class Passage:
    """A text and the name of what it is (``label``: plain text, e.g. ``"LoCoMo conv-26, session 1, turns 1-6"``)."""

    text: str
    label: str

    def named(self, text: str) -> Passage:
        """This passage if ``text`` is its text, else ``text`` labelled as typed text (what a text area returns)."""
        return self if text == self.text else Passage(text, TYPED_LABEL)


@dataclass(frozen=True)
class PromptExample:
    """Memories for the prompt (``"[YYYY-MM-DD] Speaker: text"`` where the data has a speaker and a date), the
    question asked about them, and the name of where they come from."""

    memories: tuple[str, ...]
    query: str
    label: str


def locomo_path() -> Path:
    """Where the LoCoMo dev file is looked for (it may not exist)."""
    env = os.environ.get("MEMVIZ_LOCOMO")
    if env:
        return Path(env).expanduser()
    from memviz.paths import LOCOMO_DEV

    return LOCOMO_DEV


@lru_cache(maxsize=8)
def _locomo_session(path: Path, sample_id: str, session: int) -> tuple[tuple[tuple[str, str, str], ...], str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (), ""
    for conv in data:
        if conv.get("sample_id") == sample_id:
            dialogue = conv.get("conversation", {})
            turns = dialogue.get(f"session_{session}") or []
            when = str(dialogue.get(f"session_{session}_date_time") or "")
            return tuple(
                (t.get("dia_id", ""), t.get("speaker", ""), t.get("text", "")) for t in turns if t.get("text")
            ), when
    return (), ""


def locomo_turns(sample_id: str = "conv-26", session: int = 1) -> tuple[tuple[str, str, str], ...]:
    """Turns ``(dia_id, speaker, text)`` of one LoCoMo session; empty when the file or session is missing."""
    return _locomo_session(locomo_path(), sample_id, session)[0]


def locomo_session_time(sample_id: str = "conv-26", session: int = 1) -> float | None:
    """POSIX seconds of a LoCoMo session's ``session_<n>_date_time`` (read as UTC, as the importer reads it);
    None when the file, session or date is missing or unreadable."""
    when = _locomo_session(locomo_path(), sample_id, session)[1]
    if not when:
        return None
    from memviz.importers._base import parse_time

    try:
        return parse_time(when)
    except ValueError:
        return None


def default_sample(n_turns: int = 6, sample_id: str = "conv-26", session: int = 1) -> Passage:
    """The first ``n_turns`` turns of a LoCoMo session as ``"Speaker: text"`` lines, else the built-in passage."""
    turns = locomo_turns(sample_id, session)[: max(1, n_turns)]
    if not turns:
        return Passage(BUILTIN_PASSAGE, BUILTIN_LABEL)
    text = "\n".join(f"{spk}: {txt}" for _, spk, txt in turns)
    return Passage(text, f"LoCoMo {sample_id}, session {session}, turns 1-{len(turns)} (CC BY-NC 4.0)")


def long_sample(n_sessions: int = 2, sample_id: str = "conv-26") -> Passage:
    """Whole sessions 1..n of a LoCoMo conversation (a few hundred tokens per session), else the built-in passage."""
    found = [(s, locomo_turns(sample_id, s)) for s in range(1, n_sessions + 1)]
    lines = [f"{spk}: {txt}" for _, turns in found for _, spk, txt in turns]
    if not lines:
        return Passage(BUILTIN_PASSAGE, BUILTIN_LABEL)
    sessions = [s for s, turns in found if turns]
    span = f"session {sessions[0]}" if len(sessions) == 1 else f"sessions {sessions[0]}-{sessions[-1]}"
    return Passage("\n".join(lines), f"LoCoMo {sample_id}, {span} (CC BY-NC 4.0)")


def prompt_example(sample_id: str = "conv-26") -> PromptExample:
    """A memories-in-the-prompt example.

    From LoCoMo conv-26: the question "When did Caroline go to the LGBTQ support group?" with its evidence turn
    (D1:3) placed third among four other turns of session 1, each as ``"[date] Speaker: text"`` with the
    session's date (the answer, "the day before", needs it). Without the data: the built-in passage's lines
    (no date) and a question about them.
    """
    when = locomo_session_time(sample_id, 1)
    raw = locomo_turns(sample_id, 1)
    turns = {d: memory_line(txt, spk, when) for d, spk, txt in raw}
    evidence = "D1:3"
    if evidence in turns:
        others = [turns[d] for d, spk, txt in raw if d != evidence and len(f"{spk}: {txt}") > 60][:4]
        memories = (*others[:2], turns[evidence], *others[2:])
        label = f"LoCoMo {sample_id}, session 1: {len(memories)} turns, the evidence {evidence} third (CC BY-NC 4.0)"
        return PromptExample(memories, "When did Caroline go to the LGBTQ support group?", label)
    return PromptExample(tuple(BUILTIN_PASSAGE.split("\n")), "Who gave Ana the tomato seeds?", BUILTIN_LABEL)


def default_passage(n_turns: int = 6, sample_id: str = "conv-26", session: int = 1) -> str:
    """The text of :func:`default_sample`."""
    return default_sample(n_turns, sample_id, session).text


def long_passage(n_sessions: int = 2, sample_id: str = "conv-26") -> str:
    """The text of :func:`long_sample`."""
    return long_sample(n_sessions, sample_id).text


def recall_example(sample_id: str = "conv-26") -> tuple[list[str], str]:
    """``(memories, query)`` of :func:`prompt_example`."""
    ex = prompt_example(sample_id)
    return list(ex.memories), ex.query
