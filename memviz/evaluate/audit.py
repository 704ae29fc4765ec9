"""An audit of LoCoMo's answer key: which questions it flags, why, and the evidence it cites instead.

The audit (dial481/locomo-audit ``errors.json``, building on snap-research/locomo#27; schema in
``../shared/data/README.md``) is a JSON list of flagged questions. Each names its question as
``locomo_<i>_qa<j>``: conversation ``i`` in the order of ``locomo10.json`` (:data:`LOCOMO10_ORDER`, conv-26 = 0)
and ``j`` the 0-based index into its ``qa`` list, i.e. memviz's question id ``<sample_id>:q<j>``. Each has an
``error_type`` (:data:`ERROR_TYPES`), the official ``cited_evidence``, the auditors' ``correct_evidence``, the
``golden_answer``, the ``correct_answer`` and the auditors' ``reasoning``.

:func:`load_audit` reads and checks the file; :func:`audited_gold` gives a question's gold turns under the audit
(the audit's evidence where it changes the official evidence, the official evidence otherwise).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memviz.importers._base import Source, at, read_file
from memviz.importers.locomo import resolve_evidence
from memviz.models import MemoryInput

LOCOMO10_ORDER: tuple[str, ...] = (
    "conv-26",
    "conv-30",
    "conv-41",
    "conv-42",
    "conv-43",
    "conv-44",
    "conv-47",
    "conv-48",
    "conv-49",
    "conv-50",
)
ERROR_TYPES: tuple[str, ...] = (
    "WRONG_CITATION",
    "HALLUCINATION",
    "TEMPORAL_ERROR",
    "ATTRIBUTION_ERROR",
    "AMBIGUOUS",
    "INCOMPLETE",
)
_AUDIT_ID = re.compile(r"locomo_(\d+)_qa(\d+)")


@dataclass(frozen=True)
class AuditEntry:
    """One flagged question. ``question_id`` is memviz's (``conv-26:q1``), ``audit_id`` the audit's
    (``locomo_0_qa1``); the evidence lists are raw dia ids as the audit writes them (``"D1:12"``)."""

    question_id: str
    audit_id: str
    question: str
    error_type: str
    cited_evidence: tuple[str, ...]
    correct_evidence: tuple[str, ...]
    golden_answer: str
    correct_answer: str
    reasoning: str

    @property
    def changes_evidence(self) -> bool:
        """Whether the auditors cite other turns than the official evidence (order and repeats aside)."""
        return set(self.cited_evidence) != set(self.correct_evidence)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, lists for the evidence, and ``changes_evidence``."""
        return {
            "id": self.audit_id,
            "error_type": self.error_type,
            "reasoning": self.reasoning,
            "golden_answer": self.golden_answer,
            "correct_answer": self.correct_answer,
            "cited_evidence": list(self.cited_evidence),
            "correct_evidence": list(self.correct_evidence),
            "changes_evidence": self.changes_evidence,
        }


def load_audit(path: str | os.PathLike[str]) -> dict[str, AuditEntry]:
    """The audit file at ``path``, by memviz question id (``conv-26:q1``). Raises SchemaError naming the entry
    (a file that cannot be read, not JSON, not a list of audit entries, a bad ``question_id``, an unknown
    ``error_type``, a question audited twice)."""
    src = Source(str(path), "locomo audit")
    data = src.expect(src.json(src.text(read_file(Path(path), src.fmt))), list, "", "a list of audit entries")
    entries: dict[str, AuditEntry] = {}
    for n, item in enumerate(data):
        where = at("", n)
        src.expect(item, dict, where, "an audit entry object")
        audit_id = src.field(item, "question_id", where, str, nonempty=True)
        match = _AUDIT_ID.fullmatch(audit_id)
        if match is None or int(match[1]) >= len(LOCOMO10_ORDER):
            raise src.error(where, f'"question_id" {audit_id!r} is not locomo_<0-9>_qa<n>')
        error_type = src.field(item, "error_type", where, str)
        if error_type not in ERROR_TYPES:
            raise src.error(where, f'"error_type" {error_type!r} is not one of {", ".join(ERROR_TYPES)}')
        qid = f"{LOCOMO10_ORDER[int(match[1])]}:q{int(match[2])}"
        if qid in entries:
            raise src.error(where, f"{audit_id!r} is audited twice")
        evidence = {}
        for key in ("cited_evidence", "correct_evidence"):
            raw = src.field(item, key, where, list)
            for m, e in enumerate(raw):
                src.expect(e, str, at(at(where, key), m), "an evidence string")
            evidence[key] = tuple(raw)
        entries[qid] = AuditEntry(
            question_id=qid,
            audit_id=audit_id,
            question=src.field(item, "question", where, str),
            error_type=error_type,
            golden_answer=str(src.field(item, "golden_answer", where, (str, int, float), required=False) or ""),
            correct_answer=str(src.field(item, "correct_answer", where, (str, int, float), required=False) or ""),
            reasoning=src.field(item, "reasoning", where, str, required=False) or "",
            **evidence,
        )
    return entries


def same_question(a: str, b: str) -> bool:
    """Whether two question texts are the same question (case and runs of white space aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def audited_gold(
    entry: AuditEntry | None, official: Sequence[str], turns: Mapping[str, MemoryInput]
) -> tuple[list[str], list[str]]:
    """A question's gold memory ids under the audit, and the audit's evidence strings that name no turn.

    ``official``: the question's official gold memory ids; ``turns``: its conversation's turns by dia id.
    Without an entry, or with one that keeps the official evidence, the gold is ``official``; else the
    ``correct_evidence`` resolved as the importer resolves evidence (``"D8:6; D9:17"`` splits, ``"D30:05"``
    normalises). The list is empty when the auditors cite no turn."""
    if entry is None or not entry.changes_evidence:
        return list(official), []
    found: list[MemoryInput] = []
    malformed: list[str] = []
    for raw in entry.correct_evidence:
        resolve_evidence(raw, turns, found, malformed)
    return list(dict.fromkeys(str(t.id) for t in found)), malformed


__all__ = ["ERROR_TYPES", "LOCOMO10_ORDER", "AuditEntry", "audited_gold", "load_audit", "same_question"]
