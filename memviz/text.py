"""Text side of writing a memory: normalisation, keywords (YAKE) and the importance heuristic."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from memviz.errors import EmptyTextError, MemvizError

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|\d[\d,.:/]*")
_NUMBER = re.compile(r"\d")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
# First-person statements of facts, plans, preferences and changes: what an assistant should remember.
_SELF_DISCLOSURE = re.compile(
    r"\b(i am|i'm|i was|i have|i've|i had|my|we're|we are|our|i (?:just |recently |finally )?"
    r"(?:moved|started|quit|joined|adopted|bought|got|love|like|hate|prefer|want|need|plan|decided|switched))\b",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    "a an the and or but if of at by for with about to from in on is are was were be been am i you he she it we "
    "they me him her us them my your his its our their this that these those so very just really too also not no "
    "yes oh hey hi hello wow okay ok yeah thanks thank".split()
)

MAX_TEXT_CHARS = 20_000
# The longest memory text or query accepted, in characters as given: the model reads only the start of a text
# (256 word pieces), and a 50 MB text takes minutes to normalise and tokenise. Longer texts are refused whole.
MAX_MEMORY_CHARS = 100_000


class TextTooLongError(MemvizError, ValueError):
    """A memory text or query longer than :data:`MAX_MEMORY_CHARS` characters."""


def normalise(text: str) -> str:
    """Unicode NFC, control characters removed, whitespace collapsed, trimmed.

    Raises EmptyTextError if nothing is left, and EmptyTextError too for a non-string; TextTooLongError for
    a text longer than MAX_MEMORY_CHARS (nothing is cut silently).
    Texts longer than MAX_TEXT_CHARS are kept whole (nothing is lost) but only their start is embedded
    by the model (MiniLM reads at most 256 word pieces) and searched for keywords.
    """
    if not isinstance(text, str):
        raise EmptyTextError(f"memory text must be a string, got {type(text).__name__}")
    if len(text) > MAX_MEMORY_CHARS:
        raise TextTooLongError(f"text is {len(text):,} characters long; the limit is {MAX_MEMORY_CHARS:,}")
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = _WS.sub(" ", text).strip()
    if not text:
        raise EmptyTextError("memory text is empty")
    return text


@lru_cache(maxsize=1)
def _yake_extractor():
    import yake

    # n=2 keeps short phrases ("support group"); dedupLim drops near-duplicate phrases.
    return yake.KeywordExtractor(lan="en", n=2, top=6, dedupLim=0.7)


def keywords(text: str, top: int = 5) -> list[str]:
    """Up to ``top`` keywords of ``text``, best first, lower-cased, via YAKE (Campos et al., Information
    Sciences 2020). Greetings and stopwords that YAKE keeps for short chat turns are dropped."""
    out: list[str] = []
    for phrase, _score in _yake_extractor().extract_keywords(text[:MAX_TEXT_CHARS]):
        kw = phrase.lower().strip()
        if kw in out or all(w in _STOPWORDS for w in kw.split()):
            continue
        out.append(kw)
        if len(out) == top:
            break
    return out


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not stopwords (as written, in order): what carries its content."""
    return [w for w in _WORD.findall(text) if w.lower() not in _STOPWORDS]


def importance(text: str) -> tuple[float, dict[str, float]]:
    """Heuristic importance in [0, 1] and its parts (a documented modelling choice).

    Generative Agents (Park et al. 2023) asks an LLM for a 1-10 "poignancy"; memviz runs offline without an
    LLM, so it scores the signals that make a chat turn worth remembering:

    - ``base`` 0.1
    - ``content``: up to 0.3, content words (non-stopwords) / 15, saturating: longer, denser turns say more
    - ``numbers``: 0.15 if the text has a digit (dates, amounts, times)
    - ``entities``: up to 0.2, 0.1 per capitalised word not at a sentence start (names, places, companies)
    - ``self_disclosure``: 0.25 if the speaker states a fact, plan, preference or change about themselves
      ("I moved", "my sister", "I prefer")

    The sum is clipped to [0, 1]. Returns (importance, parts).
    """
    content = content_words(text)
    parts = {
        "base": 0.1,
        "content": 0.3 * min(1.0, len(content) / 15.0),
        "numbers": 0.15 if _NUMBER.search(text) else 0.0,
        "entities": min(0.2, 0.1 * len(_CAPITALISED.findall(text))),
        "self_disclosure": 0.25 if _SELF_DISCLOSURE.search(text) else 0.0,
    }
    return min(1.0, sum(parts.values())), parts
