"""Default texts for the attention views: a real LoCoMo passage when the shared data is present.

LoCoMo (Maharana et al., ACL 2024; CC BY-NC 4.0) is read from the shared data folder, never copied into the
repository: ``$MEMVIZ_LOCOMO`` if set, else ``../shared/data/locomo/locomo_dev.json`` next to the repository.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

#: Used when the LoCoMo file is not there (written for memviz; not from any data set).
BUILTIN_PASSAGE = (
    "Ana: I finally planted the tomato seedlings on the balcony this morning.\n"
    "Ben: Nice! Last year the pigeons ate every one of them, right?\n"
    "Ana: Yes, so this time I put a net over the pots. My sister gave me the seeds in March.\n"
    "Ben: I remember, she brought them back from her trip to Lisbon.\n"
    "Ana: Exactly. If they grow, I will make the sauce she taught me."
)


def locomo_path() -> Path:
    """Where the LoCoMo dev file is looked for (it may not exist)."""
    env = os.environ.get("MEMVIZ_LOCOMO")
    if env:
        return Path(env).expanduser()
    from memviz.paths import LOCOMO_DEV

    return LOCOMO_DEV


@lru_cache(maxsize=8)
def locomo_turns(sample_id: str = "conv-26", session: int = 1) -> tuple[tuple[str, str, str], ...]:
    """Turns ``(dia_id, speaker, text)`` of one LoCoMo session; empty when the file or session is missing."""
    path = locomo_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    for conv in data:
        if conv.get("sample_id") == sample_id:
            turns = conv.get("conversation", {}).get(f"session_{session}") or []
            return tuple((t.get("dia_id", ""), t.get("speaker", ""), t.get("text", "")) for t in turns if t.get("text"))
    return ()


def default_passage(n_turns: int = 6, sample_id: str = "conv-26", session: int = 1) -> str:
    """The first ``n_turns`` turns of a LoCoMo session as ``"Speaker: text"`` lines, else :data:`BUILTIN_PASSAGE`."""
    turns = locomo_turns(sample_id, session)
    if not turns:
        return BUILTIN_PASSAGE
    return "\n".join(f"{spk}: {txt}" for _, spk, txt in turns[: max(1, n_turns)])


def long_passage(n_sessions: int = 2, sample_id: str = "conv-26") -> str:
    """Whole sessions 1..n of a LoCoMo conversation (a few hundred tokens per session), else the built-in text."""
    lines = [f"{spk}: {txt}" for s in range(1, n_sessions + 1) for _, spk, txt in locomo_turns(sample_id, s)]
    return "\n".join(lines) if lines else BUILTIN_PASSAGE


def recall_example(sample_id: str = "conv-26") -> tuple[list[str], str]:
    """A memories-in-the-prompt example: ``(memories, query)``.

    From LoCoMo conv-26: the question "When did Caroline go to the LGBTQ support group?" with its evidence turn
    (D1:3) placed third among four other turns of session 1, each as ``"Speaker: text"``. Without the data: the built-in
    passage's lines and a question about them.
    """
    turns = {d: f"{spk}: {txt}" for d, spk, txt in locomo_turns(sample_id, 1)}
    evidence = "D1:3"
    if evidence in turns:
        others = [t for d, t in turns.items() if d != evidence and len(t) > 60][:4]
        return others[:2] + [turns[evidence]] + others[2:], "When did Caroline go to the LGBTQ support group?"
    return BUILTIN_PASSAGE.split("\n"), "Who gave Ana the tomato seeds?"
