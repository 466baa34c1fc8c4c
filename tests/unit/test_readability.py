"""Plain language: every answer reads at about age 11, and jargon is explained the first time it is used. Issue #3.

The score is the Flesch-Kincaid grade (US school grade; reading age is about grade + 5), computed here with a
vowel-group syllable count: the published formula, without a library that would download a dictionary at run time.
Links, phone numbers and bracketed explanations are left out before scoring: families read them, but they are not
prose.
"""

from __future__ import annotations

import re

import pytest

from bot.knowledge import explain_jargon, load_knowledge

KNOWLEDGE = load_knowledge()
# Reading age about 11: no answer above grade 7.5 (reading age ~12), and on average grade 5 or below (~10).
MAX_GRADE = 7.5
MAX_MEAN_GRADE = 5.0
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def _syllables(word: str) -> int:
    word = word.lower()
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", "", word)
    return max(1, len(_VOWEL_GROUPS.findall(re.sub(r"^y", "", word))))


def _prose(text: str) -> str:
    text = re.sub(r"https?://\S+?(?=[.,]?(\s|$))", "", text)
    text = re.sub(r"\([^)]*\)", "", text)
    return re.sub(r"£?\d+(?:[,/:]\d+)*(?:\.\d+)?", "five", text)


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch-Kincaid grade of ``text``."""
    prose = _prose(text)
    sentences = [p for p in re.split(r"[.!?:]+(?:\s|$)", prose) if re.search(r"[A-Za-z]", p)]
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", prose)
    syllables = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / max(1, len(sentences)) + 11.8 * syllables / max(1, len(words)) - 15.59


def _answer_text(topic: str) -> str:
    values = {name: "from 1 January 2027" for name in KNOWLEDGE.variables[topic]}
    return " ".join(KNOWLEDGE.answer(topic, **values))


@pytest.mark.parametrize("text, low, high", [
    ("The cat sat on the mat. It was warm.", -3, 2),
    ("Notwithstanding the aforementioned considerations, the local authority's statutory obligations "
     "necessitate comprehensive multidisciplinary assessment.", 15, 40),
], ids=["simple", "officialese"])
def test_the_score_tells_plain_from_officialese(text: str, low: float, high: float) -> None:
    """The scorer itself: short plain sentences score low, council officialese scores high."""
    assert low <= flesch_kincaid_grade(text) <= high


@pytest.mark.parametrize("topic", KNOWLEDGE.topics)
def test_every_answer_is_plain(topic: str) -> None:
    """No answer needs more than a reading age of about 12."""
    assert flesch_kincaid_grade(_answer_text(topic)) <= MAX_GRADE


def test_answers_read_at_about_age_eleven_on_average() -> None:
    """Across all answers, the reading level sits around age 10-11."""
    grades = [flesch_kincaid_grade(_answer_text(t)) for t in KNOWLEDGE.topics]
    assert sum(grades) / len(grades) <= MAX_MEAN_GRADE


@pytest.mark.parametrize("topic", KNOWLEDGE.topics)
def test_jargon_is_explained_at_first_use(topic: str) -> None:
    """EHC plan, SENCo, DLA: the first use in each answer is followed by its meaning."""
    text = _answer_text(topic)
    for term, meaning in KNOWLEDGE.glossary.items():
        first = re.search(rf"\b{re.escape(term)}\b", text)
        if first:
            assert text[first.end():].lstrip().startswith("("), (topic, term)


def test_explain_jargon_explains_once_and_respects_a_hand_written_explanation() -> None:
    """Only the first use gets the meaning; an answer that explains it itself is left alone."""
    glossary = {"DLA": "Disability Living Allowance"}
    assert explain_jargon(["Gets DLA.", "DLA again."], glossary) == [
        "Gets DLA (Disability Living Allowance).", "DLA again."]
    assert explain_jargon(["DLA (the disability benefit) and DLA."], glossary) == ["DLA (the disability benefit) and DLA."]
