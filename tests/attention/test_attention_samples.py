"""Default texts name what they are: the label comes from the same object as the text (LoCoMo when the file is
there, else the built-in passage), and memories carry their speaker and date."""

from __future__ import annotations

import json

import pytest

from memviz.attention import samples
from memviz.attention.prompt import build_prompt, memory_line

TURNS = [
    ("D1:1", "Caroline", "Hey Mel! Good to see you! How have you been? It has been a while since we talked."),
    ("D1:2", "Melanie", "Hey Caroline! Good to see you! I'm swamped with the kids & work. What's up with you?"),
    ("D1:3", "Caroline", "I went to a LGBTQ support group yesterday and it was so powerful."),
    ("D1:4", "Melanie", "Wow, that's cool, Caroline! What happened that was so awesome? Did you hear any stories?"),
]


@pytest.fixture
def locomo(tmp_path, monkeypatch):
    conv = {
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [{"speaker": s, "dia_id": d, "text": t} for d, s, t in TURNS],
        "session_2_date_time": "1:14 pm on 25 May, 2023",
        "session_2": [{"speaker": "Melanie", "dia_id": "D2:1", "text": "Hi again."}],
    }
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([{"sample_id": "conv-26", "conversation": conv}]), encoding="utf-8")
    monkeypatch.setenv("MEMVIZ_LOCOMO", str(path))
    return path


@pytest.fixture
def no_locomo(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMVIZ_LOCOMO", str(tmp_path / "missing.json"))


def test_without_locomo_the_builtin_passage_is_named(no_locomo):
    for p in (samples.default_sample(), samples.long_sample(2)):
        assert p.text == samples.BUILTIN_PASSAGE and p.label == samples.BUILTIN_LABEL
        assert "LoCoMo" not in p.label
    ex = samples.prompt_example()
    assert ex.label == samples.BUILTIN_LABEL and ex.memories[0].startswith("Ana: ")
    assert samples.default_passage() == samples.BUILTIN_PASSAGE


def test_with_locomo_the_passage_is_named(locomo):
    p = samples.default_sample(n_turns=3)
    assert p.text.splitlines() == [f"{s}: {t}" for _, s, t in TURNS[:3]]
    assert p.label == "LoCoMo conv-26, session 1, turns 1-3 (CC BY-NC 4.0)"
    long = samples.long_sample(2)
    assert long.text.endswith("Melanie: Hi again.") and long.label.startswith("LoCoMo conv-26, sessions 1-2")
    assert samples.long_sample(1).label.startswith("LoCoMo conv-26, session 1 ")


def test_the_prompt_example_carries_speaker_and_date(locomo):
    ex = samples.prompt_example()
    assert ex.query == "When did Caroline go to the LGBTQ support group?"
    assert ex.memories[2] == "[2023-05-08] Caroline: I went to a LGBTQ support group yesterday and it was so powerful."
    assert all(m.startswith("[2023-05-08] ") for m in ex.memories)
    assert "the evidence D1:3 third" in ex.label and ex.label.startswith("LoCoMo conv-26, session 1")
    prompt, _ = build_prompt(list(ex.memories), ex.query)
    assert "- [2023-05-08] Caroline: I went to a LGBTQ support group" in prompt  # what the model reads


def test_typed_text_is_named_as_typed(no_locomo):
    p = samples.default_sample()
    assert p.named(p.text) is p
    assert p.named("my own words") == samples.Passage("my own words", samples.TYPED_LABEL)


def test_memory_line():
    t = 1683554160.0  # 2023-05-08 13:56 UTC
    assert memory_line("Hi <b>", "Caroline", t) == "[2023-05-08] Caroline: Hi <b>"
    assert memory_line("Hi", "", t) == "[2023-05-08] Hi"
    assert memory_line("Hi", "Ann") == "Ann: Hi" and memory_line("Hi") == "Hi"
