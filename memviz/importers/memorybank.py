"""MemoryBank importer: dated user/assistant exchanges of SiliconFriend users (Zhong et al., AAAI 2024).

The file is ``{user: {name, history: {"YYYY-MM-DD": [{query, response}, ...]}, ...}}``. One group per user (the
user's key, also the memories' scope);
each exchange gives two memories, the query (spoken by the user's name) and the response (spoken by "AI").
User keys are stripped of surrounding spaces (the published file has ``" Jason "``, ``" Linda"``...) so they
match the probing questions. A day's memories start at its UTC midnight, 60 s apart in order (a modelling
choice). A query or response that is empty in the data is left out and counted in ``Dataset.skipped``.

When a file ``probing_questions_en.jsonl`` (one ``{user: [question, ...]}`` object per line) lies next to the
data file, its questions are loaded too, with no answer and no evidence (the data set publishes none).
"""

from __future__ import annotations

from typing import Any

from memviz.importers._base import TURN_SPACING_S, Dataset, Question, Source, at, read_file
from memviz.models import MemoryInput

PROBING_FILE = "probing_questions_en.jsonl"
AI_SPEAKER = "AI"


def load_memorybank(raw: bytes, src: Source) -> Dataset:
    """Read a MemoryBank file, and its sibling probing questions when ``src`` is a file on disk."""
    data = src.expect(src.json(src.text(raw)), dict, "", "an object of users")
    dataset = Dataset(format="memorybank", path=src.path, groups={})
    for key, user in data.items():
        where = at("", key)
        user_id = key.strip()
        if not user_id:
            raise src.error(where, "empty user name")
        if user_id in dataset.groups:
            raise src.error(where, f"duplicate user {user_id!r} (user names are stripped of spaces)")
        src.expect(user, dict, where, "a user object")
        dataset.groups[user_id], skipped = _memories(src, user_id, user, where)
        dataset.skipped += skipped
    src.require_memories(dataset)
    probing = src.file.with_name(PROBING_FILE) if src.file is not None else None
    if probing is not None and probing.is_file():
        raw_questions = read_file(probing, src.fmt)
        dataset.questions = _probing_questions(raw_questions, Source(str(probing), src.fmt), dataset.groups)
    return dataset


def _memories(src: Source, user_id: str, user: dict[str, Any], where: str) -> tuple[list[MemoryInput], int]:
    """The memories of one user, day after day in file order, and the number of empty turns left out."""
    name = src.field(user, "name", where, str, required=False)
    speaker = name.strip() if name and name.strip() else user_id
    history = src.field(user, "history", where, dict)
    where = at(where, "history")
    memories: list[MemoryInput] = []
    skipped = 0
    for date, exchanges in history.items():
        day_where = at(where, date)
        day_s = src.time(date, day_where)
        src.expect(exchanges, list, day_where, "a list of exchanges")
        for j, exchange in enumerate(exchanges):
            exchange_where = at(day_where, j)
            src.expect(exchange, dict, exchange_where, "an exchange object")
            for offset, (key, role, who) in enumerate((("query", "q", speaker), ("response", "r", AI_SPEAKER))):
                text = src.field(exchange, key, exchange_where, str)
                if not text.strip():
                    skipped += 1
                    continue
                memories.append(
                    src.memory(
                        at(exchange_where, key),
                        MemoryInput(
                            text=text,
                            speaker=who,
                            session_id=f"{user_id}:{date}",
                            source_id=f"{date}#{j}{role}",
                            event_time_s=day_s + TURN_SPACING_S * (2 * j + offset),
                            kind="episodic",
                            id=f"{user_id}:{date}:{j:02d}:{role}",
                            dataset="memorybank",
                            scope=user_id,
                        ),
                    )
                )
    return memories, skipped


def _probing_questions(raw: bytes, src: Source, groups: dict[str, list[MemoryInput]]) -> list[Question]:
    """The probing questions of a ``{user: [question, ...]}`` JSON Lines file, numbered per user from 0."""
    questions: list[Question] = []
    counts: dict[str, int] = {}
    for number, line in src.json_lines(raw):
        where = f"line {number}"
        src.expect(line, dict, where, "an object of users")
        for key, texts in line.items():
            user_where = at(where, key)
            user_id = key.strip()
            if user_id not in groups:
                raise src.error(user_where, "unknown user (not in the MemoryBank file)")
            src.expect(texts, list, user_where, "a list of questions")
            for k, text in enumerate(texts):
                src.expect(text, str, at(user_where, k), "a question string")
                if not text.strip():
                    raise src.error(at(user_where, k), "empty question")
                index = counts.get(user_id, 0)
                counts[user_id] = index + 1
                questions.append(
                    Question(
                        id=f"{user_id}:q{index}",
                        group=user_id,
                        question=text,
                        answer="",
                        category="probing",
                        time_s=None,
                        evidence_ids=(),
                        evidence_session_ids=(),
                    )
                )
    return questions
