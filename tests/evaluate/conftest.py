"""Tiny LoCoMo and LongMemEval files in their real schemas (with the real data's quirks: empty and malformed
evidence, an adversarial question, an abstention question, unsorted haystack dates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _turn(speaker, dia, text):
    return {"speaker": speaker, "dia_id": dia, "text": text}


LOCOMO = [
    {
        "sample_id": "conv-a",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                _turn("Ann", "D1:1", "Hi Bob! I finally finished painting the kitchen yellow."),
                _turn("Ann", "D1:2", "Big news: I moved to Lisbon last week for my new job."),
                _turn("Bob", "D1:3", "Congrats! My dog Rex would love the beaches there."),
                _turn("Bob", "D1:4", "I started learning the cello in March."),
            ],
            "session_2_date_time": "10:00 am on 20 May, 2023",
            "session_2": [
                _turn("Ann", "D2:1", "How is the cello going?"),
                _turn("Bob", "D2:2", "Slowly. Rex, my terrier, howls whenever I play."),
                _turn("Ann", "D2:3", "I painted the bathroom blue too."),
            ],
            "session_3_date_time": "9:00 am on 1 June, 2023",
            "session_3": [],
        },
        "qa": [
            {"question": "Where did Ann move to?", "answer": "Lisbon", "evidence": ["D1:2"], "category": 4},
            {
                "question": "What kind of dog does Bob have and what is its name?",
                "answer": "a terrier, Rex",
                "evidence": ["D1:3", "D2:2"],
                "category": 1,
            },
            {"question": "When did Ann call?", "answer": "May", "evidence": [], "category": 2},
            {"question": "What is Bob's car?", "answer": "none", "evidence": ["D9:9"], "category": 3},
            {
                "question": "What instrument does Ann play?",
                "adversarial_answer": "the cello",
                "evidence": ["D2:1"],
                "category": 5,
            },
            {
                "question": "Which rooms did Ann paint?",
                "answer": "kitchen and bathroom",
                "evidence": ["D1:1; D2:3"],
                "category": 4,
            },
            {
                "question": "When did Bob start the cello?",
                "answer": "March 2023",
                "evidence": ["D1:4", "D"],
                "category": 2,
            },
        ],
    },
    {
        "sample_id": "conv-b",
        "conversation": {
            "speaker_a": "Cat",
            "speaker_b": "Dan",
            "session_1_date_time": "8:00 pm on 3 July, 2023",
            "session_1": [
                _turn("Cat", "D1:1", "I'm training for the Berlin marathon in September."),
                _turn("Dan", "D1:2", "I prefer swimming; my knees hate running."),
                _turn("Cat", "D1:3", "My sister Zoe is visiting from Toronto next week."),
            ],
        },
        "qa": [
            {"question": "Which marathon is Cat training for?", "answer": "Berlin", "evidence": ["D1:1"], "category": 4}
        ],
    },
]


def _session(user, assistant, answer=False):
    return [{"role": "user", "content": user, "has_answer": answer}, {"role": "assistant", "content": assistant}]


def _question(qid, qtype, question, sessions, dates, answer_ids, date="2023/06/30 (Fri) 10:18"):
    return {
        "question_id": qid,
        "question_type": qtype,
        "question": question,
        "answer": "x",
        "question_date": date,
        "haystack_session_ids": [s[0] for s in sessions],
        "haystack_dates": dates,
        "haystack_sessions": [s[1] for s in sessions],
        "answer_session_ids": answer_ids,
    }


LONGMEMEVAL = [
    _question(
        "q1",
        "single-session-user",
        "What breed is my dog?",
        [
            ("sess_1", _session("I bake sourdough every Sunday.", "Nice! Keep the starter warm.")),
            ("answer_a1", _session("My new dog is a border collie called Pip.", "Border collies are clever.", True)),
            ("sess_3", _session("Can you suggest a sci-fi novel?", "Try The Left Hand of Darkness.")),
        ],
        ["2023/05/02 (Tue) 09:00", "2023/04/01 (Sat) 10:00", "2023/06/01 (Thu) 11:00"],
        ["answer_a1"],
    ),
    _question(
        "q2_abs",
        "single-session-user",
        "What is my cat's name?",
        [
            ("sess_9", _session("I like tea.", "Green or black?")),
        ],
        ["2023/05/02 (Tue) 09:00"],
        [],
    ),
    _question(
        "q3",
        "multi-session",
        "Which cities did I visit for work?",
        [
            ("answer_b1", _session("I flew to Oslo for a client meeting.", "How was Oslo?", True)),
            # a turn of a lone zero-width space, as LongMemEval_S has: no memory can be made of it
            (
                "sess_2",
                _session("My favourite colour is green.", "Green is calming.")
                + [{"role": "user", "content": "\u200b"}],
            ),
            ("answer_b2", _session("Work sent me to Madrid for a conference.", "Madrid in spring is lovely.", True)),
        ],
        ["2023/03/05 (Sun) 08:00", "2023/02/01 (Wed) 10:00", "2023/07/10 (Mon) 12:00"],
        ["answer_b1", "answer_b2"],
    ),
    # single-session-assistant: the answer is in an assistant turn, which the official turn index leaves out
    _question(
        "q4",
        "single-session-assistant",
        "Which novel did you suggest to me?",
        [
            ("sess_5", _session("What should I cook tonight?", "Try a mushroom risotto.")),
            (
                "answer_c1",
                [
                    {"role": "user", "content": "Can you suggest a sci-fi novel?", "has_answer": False},
                    {"role": "assistant", "content": "Try The Dispossessed by Le Guin.", "has_answer": True},
                ],
            ),
        ],
        ["2023/05/02 (Tue) 09:00", "2023/05/03 (Wed) 09:00"],
        ["answer_c1"],
    ),
]


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny_benchmarks")
    paths = {"locomo": folder / "locomo_tiny.json", "longmemeval": folder / "longmemeval_tiny.json"}
    paths["locomo"].write_text(json.dumps(LOCOMO), encoding="utf-8")
    paths["longmemeval"].write_text(json.dumps(LONGMEMEVAL), encoding="utf-8")
    return paths
