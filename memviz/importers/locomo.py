"""LoCoMo importer: a list of very long multi-session conversations with QA (Maharana et al., ACL 2024).

One group per conversation (its ``sample_id``, also the memories' scope); one memory per dialogue turn of every
session that has turns.
A session's turns all share its ``session_<n>_date_time`` ("1:56 pm on 8 May, 2023", read as UTC); as a
modelling choice each turn is placed 60 s after the previous one, so that turns keep their order in time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from memviz.importers._base import SCALARS, TURN_SPACING_S, Dataset, Question, Source, at
from memviz.models import MemoryInput

_SESSION_KEY = re.compile(r"session_(\d+)")
# A tolerant dialog id: "D3:7", and the quirks "D:11:26" and "D30:05" of the published data.
_DIA_ID = re.compile(r"D:?(\d+):(\d+)")
_EVIDENCE_SEPARATOR = re.compile(r"[;,\s]+")


def load_locomo(raw: bytes, src: Source) -> Dataset:
    """Read a LoCoMo file (the whole file is checked before anything is returned)."""
    data = src.expect(src.json(src.text(raw)), list, "", "a list of conversations")
    groups: dict[str, list[MemoryInput]] = {}
    questions: list[Question] = []
    for i, conversation in enumerate(data):
        where = at("", i)
        src.expect(conversation, dict, where, "a conversation object")
        sample_id = src.field(conversation, "sample_id", where, str, nonempty=True)
        if sample_id in groups:
            raise src.error(where, f'duplicate "sample_id" {sample_id!r}')
        groups[sample_id] = _memories(src, sample_id, conversation, where)
        turns = {m.source_id: m for m in groups[sample_id]}
        questions += _questions(src, sample_id, conversation, where, turns)
    return src.require_memories(Dataset(format="locomo", path=src.path, groups=groups, questions=questions))


def _memories(src: Source, sample_id: str, conversation: dict[str, Any], where: str) -> list[MemoryInput]:
    """The turns of one conversation, session after session in numeric order."""
    dialogue = src.field(conversation, "conversation", where, dict)
    where = at(where, "conversation")
    sessions = sorted((int(m[1]), key) for key in dialogue if (m := _SESSION_KEY.fullmatch(key)))
    memories: list[MemoryInput] = []
    seen: set[str] = set()
    for n, key in sessions:
        turns = src.expect(dialogue[key], list, at(where, key), "a list of turns")
        if not turns:
            continue
        date_key = f"{key}_date_time"
        start_s = src.time(src.field(dialogue, date_key, where, str), where, date_key)
        for j, turn in enumerate(turns):
            turn_where = at(at(where, key), j)
            src.expect(turn, dict, turn_where, "a turn object")
            speaker = src.field(turn, "speaker", turn_where, str)
            dia_id = src.field(turn, "dia_id", turn_where, str, nonempty=True)
            text = src.field(turn, "text", turn_where, str, nonempty=True)
            caption = src.field(turn, "blip_caption", turn_where, str, required=False)
            if dia_id in seen:
                raise src.error(turn_where, f'duplicate "dia_id" {dia_id!r}')
            seen.add(dia_id)
            if caption and caption.strip():
                text = f"{text} [shares an image: {caption}]"
            memories.append(
                src.memory(
                    turn_where,
                    MemoryInput(
                        text=text,
                        speaker=speaker,
                        session_id=f"{sample_id}:S{n}",
                        source_id=dia_id,
                        event_time_s=start_s + TURN_SPACING_S * j,
                        kind="episodic",
                        id=f"{sample_id}:{dia_id}",
                        dataset="locomo",
                        scope=sample_id,
                    ),
                )
            )
    return memories


def _questions(
    src: Source, sample_id: str, conversation: dict[str, Any], where: str, turns: dict[str, MemoryInput]
) -> list[Question]:
    """The ``qa`` list of one conversation (optional) with its evidence resolved against ``turns`` (by dia_id)."""
    qa = src.field(conversation, "qa", where, list, required=False) or []
    questions = []
    for k, item in enumerate(qa):
        q_where = at(at(where, "qa"), k)
        src.expect(item, dict, q_where, "a question object")
        question = src.field(item, "question", q_where, str, nonempty=True)
        category = src.field(item, "category", q_where, (int, str))
        # Category 5 (adversarial) has "adversarial_answer" instead of "answer" (two items have both).
        answer = src.field(item, "answer", q_where, SCALARS, required=False)
        if answer is None:
            answer = src.field(item, "adversarial_answer", q_where, SCALARS, required=False)
        evidence = src.field(item, "evidence", q_where, list, required=False) or []
        found: list[MemoryInput] = []
        malformed: list[str] = []
        for m, raw in enumerate(evidence):
            src.expect(raw, str, at(at(q_where, "evidence"), m), "an evidence string")
            resolve_evidence(raw, turns, found, malformed)
        questions.append(
            Question(
                id=f"{sample_id}:q{k}",
                group=sample_id,
                question=question,
                answer="" if answer is None else str(answer),
                category=str(category),
                time_s=None,
                evidence_ids=tuple(dict.fromkeys(str(t.id) for t in found)),
                evidence_session_ids=tuple(dict.fromkeys(t.session_id for t in found)),
                malformed_evidence=tuple(malformed),
            )
        )
    return questions


def resolve_evidence(
    raw: str, turns: Mapping[str, MemoryInput], found: list[MemoryInput], malformed: list[str]
) -> None:
    """Resolve one evidence string into ``found`` turns; the parts naming no turn go to ``malformed``.

    A string may hold several ids ("D8:6; D9:17"); a part that is not an existing dia_id as written is
    normalised ("D:11:26" -> "D11:26", "D30:05" -> "D30:5") and kept if that turn exists.
    """
    parts = [p for p in _EVIDENCE_SEPARATOR.split(raw) if p]
    if not parts:
        malformed.append(raw)
    for part in parts:
        match = _DIA_ID.fullmatch(part)
        normalised = f"D{int(match[1])}:{int(match[2])}" if match else None
        turn = turns.get(part) or turns.get(normalised or "")
        if turn is None:
            malformed.append(part)
        else:
            found.append(turn)
