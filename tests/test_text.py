import pytest

from memviz import text
from memviz.errors import EmptyTextError


def test_normalise_collapses_whitespace_and_controls():
    assert text.normalise("  hi\x00  there\n\n you ") == "hi there you"


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", None, 42])
def test_normalise_refuses_empty(bad):
    with pytest.raises(EmptyTextError):
        text.normalise(bad)


def test_keywords_are_lowercase_content_phrases():
    kws = text.keywords("Hey! I went to a LGBTQ support group yesterday and it was so powerful.")
    assert kws and all(k == k.lower() for k in kws)
    assert any("support" in k for k in kws)
    assert "hey" not in kws


def test_importance_rewards_facts_over_small_talk():
    small, _ = text.importance("Haha yeah, cool!")
    fact, parts = text.importance("I moved to Manchester in March and my rent is 1,150 pounds a month.")
    assert fact > small
    assert parts["numbers"] > 0 and parts["self_disclosure"] > 0 and parts["entities"] > 0
    assert 0.0 <= small <= 1.0 and 0.0 <= fact <= 1.0
    assert fact == pytest.approx(min(1.0, sum(parts.values())))
