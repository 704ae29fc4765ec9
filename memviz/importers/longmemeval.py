"""LongMemEval importer: a list of questions, each with its haystack of chat sessions (Wu et al., ICLR 2025).

Reads both the oracle file (evidence sessions only) and the ``_s`` / ``_m`` files (full haystacks). One group
per question (its ``question_id``, also the memories' scope); one memory per turn of its haystack sessions.

The data's session ids give the answer away (evidence sessions are called ``answer_...``) and its turns carry
a ``has_answer`` flag: neither reaches a memory. Sessions get neutral ids from their haystack position
(``<question_id>:s03``), turns ``<question_id>:s03:t07``; the gold labels only go to :class:`Question`.
A turn's time is its session's haystack date (read as UTC) plus 60 s per turn, a modelling choice that keeps
the turns of a session in order. A turn with no visible text (LongMemEval_S has a few made of a single
zero-width space) is left out and counted in ``Dataset.skipped``.
"""

from __future__ import annotations

from typing import Any

from memviz.errors import EmptyTextError
from memviz.importers._base import SCALARS, TURN_SPACING_S, Dataset, Question, Source, at
from memviz.models import MemoryInput
from memviz.text import TextTooLongError, normalise

_HAYSTACK_KEYS = ("haystack_session_ids", "haystack_dates", "haystack_sessions")


def load_longmemeval(raw: bytes, src: Source) -> Dataset:
    """Read a LongMemEval file (the whole file is checked before anything is returned)."""
    data = src.expect(src.json(src.text(raw)), list, "", "a list of questions")
    groups: dict[str, list[MemoryInput]] = {}
    questions: list[Question] = []
    skipped = 0
    for i, item in enumerate(data):
        where = at("", i)
        src.expect(item, dict, where, "a question object")
        question_id = src.field(item, "question_id", where, str, nonempty=True)
        if question_id in groups:
            raise src.error(where, f'duplicate "question_id" {question_id!r}')
        question_type = src.field(item, "question_type", where, str, nonempty=True)
        question = src.field(item, "question", where, str, nonempty=True)
        answer = src.field(item, "answer", where, SCALARS)
        time_s = src.time(src.field(item, "question_date", where, str), where, "question_date")
        memories, evidence_sessions, evidence_turns, n_blank = _haystack(src, question_id, item, where)
        skipped += n_blank
        groups[question_id] = memories
        abstention = question_id.endswith("_abs")
        questions.append(
            Question(
                id=question_id,
                group=question_id,
                question=question,
                answer=str(answer),
                category=f"{question_type} (abstention)" if abstention else question_type,
                time_s=time_s,
                evidence_ids=tuple(evidence_turns),
                evidence_session_ids=tuple(evidence_sessions),
            )
        )
    return src.require_memories(
        Dataset(format="longmemeval", path=src.path, groups=groups, questions=questions, skipped=skipped)
    )


def _haystack(
    src: Source, question_id: str, item: dict[str, Any], where: str
) -> tuple[list[MemoryInput], list[str], list[str], int]:
    """The memories of one question's haystack, the neutral ids of its evidence sessions and evidence turns,
    and the number of turns left out for having no visible text."""
    session_ids, dates, sessions = (src.field(item, key, where, list) for key in _HAYSTACK_KEYS)
    if not len(session_ids) == len(dates) == len(sessions):
        lengths = ", ".join(f'"{k}" {len(v)}' for k, v in zip(_HAYSTACK_KEYS, (session_ids, dates, sessions)))
        raise src.error(where, f"haystack lists differ in length ({lengths})")
    for k, raw_id in enumerate(session_ids):
        src.expect(raw_id, str, at(at(where, "haystack_session_ids"), k), "a session id string")
    answer_ids = src.field(item, "answer_session_ids", where, list)
    for k, raw_id in enumerate(answer_ids):
        answer_where = at(at(where, "answer_session_ids"), k)
        src.expect(raw_id, str, answer_where, "a session id string")
        if raw_id not in session_ids:
            raise src.error(answer_where, 'not one of the "haystack_session_ids"')

    memories: list[MemoryInput] = []
    evidence_sessions: list[str] = []
    evidence_turns: list[str] = []
    blank = 0
    for s, (raw_id, date, session) in enumerate(zip(session_ids, dates, sessions)):
        date_where = at(at(where, "haystack_dates"), s)
        start_s = src.time(src.expect(date, str, date_where, "a date string"), date_where)
        session_where = at(at(where, "haystack_sessions"), s)
        src.expect(session, list, session_where, "a list of turns")
        session_id = f"{question_id}:s{s:02d}"
        if raw_id in answer_ids:
            evidence_sessions.append(session_id)
        for j, turn in enumerate(session):
            turn_where = at(session_where, j)
            src.expect(turn, dict, turn_where, "a turn object")
            role = src.field(turn, "role", turn_where, str, nonempty=True)
            content = src.field(turn, "content", turn_where, str, nonempty=True)
            memory_id = f"{session_id}:t{j:02d}"
            if src.field(turn, "has_answer", turn_where, bool, required=False):
                evidence_turns.append(memory_id)
            try:
                normalise(content)
            except EmptyTextError:
                blank += 1
                continue
            except TextTooLongError:
                pass  # refused with its location by require_memories below
            memories.append(
                src.memory(
                    turn_where,
                    MemoryInput(
                        text=content,
                        speaker=role,
                        session_id=session_id,
                        source_id=f"s{s:02d}:t{j:02d}",
                        event_time_s=start_s + TURN_SPACING_S * j,
                        kind="episodic",
                        id=memory_id,
                        dataset="longmemeval",
                        scope=question_id,
                    ),
                )
            )
    return memories, evidence_sessions, evidence_turns, blank
