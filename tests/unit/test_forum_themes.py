"""Themes of free-text answers: the classifier, the themes built from it, and the honesty of its data (issue #8)."""

import inspect
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import bot.forum.themes as themes_module
from bot.forum.measure_themes import DEFAULT_HELDOUT_FILE, main as measure_main, score
from bot.forum.results import OTHER, SMALL, Themes
from bot.forum.themes import (
    DEFAULT_AREAS_FILE, DEFAULT_TRAINING_FILE, LABELS, MAX_QUOTE_CHARS, MIN_PHRASE_ANSWERS, REDACTION_TOKEN,
    Example, ThemeClassifier, ThemeDataError, build_themes, decide, label_counts, load_cues, load_examples,
)
from bot.surveys.definitions import FRAMEWORK_AREAS

THRESHOLD = 5


@pytest.fixture(scope="module")
def classifier() -> ThemeClassifier:
    return ThemeClassifier.from_file()


def _labels(found):
    return [label for label, _ in found]


# --- the classifier ------------------------------------------------------------------------------------------------

def test_labels_are_the_framework_areas_then_other() -> None:
    assert LABELS == FRAMEWORK_AREAS + (OTHER,)


def test_training_is_deterministic_and_quick() -> None:
    """Two classifiers trained from the same files agree exactly (no pickles, a fixed random_state), quickly."""
    started = time.perf_counter()
    first = ThemeClassifier.from_file()
    elapsed = time.perf_counter() - started
    second = ThemeClassifier.from_file()
    texts = ["We waited two years for an assessment.", "Thanks!", "Nobody rang back about the review."]
    assert first.thresholds == second.thresholds
    assert first.classify(texts) == second.classify(texts)
    assert (first.probabilities(texts) == second.probabilities(texts)).all()
    assert elapsed < 5.0  # about a second on a quiet machine; generous for a busy CI runner


def test_every_text_gets_labels_with_confidences_highest_first(classifier: ThemeClassifier) -> None:
    texts = ["The school will not put the support in his plan in place and nobody answers my emails.",
             "He starts college in September.", "ok", "Lovely weather for the garden today."]
    results = classifier.classify(texts)
    assert len(results) == len(texts)
    for found in results:
        assert found, "at least one label"
        assert all(label in LABELS for label in _labels(found))
        assert len(set(_labels(found))) == len(found)
        confidences = [confidence for _, confidence in found]
        assert all(0.0 <= c <= 1.0 for c in confidences)
        assert confidences == sorted(confidences, reverse=True)
        assert OTHER not in _labels(found) or len(found) == 1  # Other means none of the areas


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😀😀😀", "?!...", "[NAME] [SCHOOL]", "N/A", "No comment.",
                                  "Nothing to add, thanks"],
                         ids=["empty", "spaces", "whitespace", "emoji", "punctuation", "only-tokens", "n/a",
                              "no-comment", "nothing-to-add"])
def test_blank_and_non_answers_are_other(classifier: ThemeClassifier, text: str) -> None:
    assert classifier.classify([text]) == [((OTHER, 1.0),)]


def test_a_non_answer_word_does_not_swallow_a_real_answer(classifier: ThemeClassifier) -> None:
    assert _labels(classifier.classify(["No support at all since September."])[0]) != [OTHER]


@pytest.mark.parametrize("text", ["Merci beaucoup pour votre aide", "Dziękuję bardzo", "شكرا جزيلا",
                                  "ਤੁਹਾਡਾ ਧੰਨਵਾਦ"], ids=["french", "polish", "arabic", "punjabi"])
def test_words_it_has_never_seen_are_handled(classifier: ThemeClassifier, text: str) -> None:
    """Another language is not understood, but it is read without error and filed under one label."""
    [found] = classifier.classify([text])
    assert len(found) >= 1 and all(0.0 <= c <= 1.0 for _, c in found)


def test_very_long_text_is_read_quickly(classifier: ThemeClassifier) -> None:
    text = "We have waited and waited for an assessment. " * 5000
    started = time.perf_counter()
    [found] = classifier.classify([text])
    assert time.perf_counter() - started < 2.0
    assert found and all(label in LABELS for label, _ in found)


# Clear answers in our own words (not from the training or held-out files): each names one area unmistakably.
CLEAR = [
    ("Identification", "We have been on the waiting list for an autism assessment for two years."),
    ("Participation", "Nobody from the council ever replies to my emails or rings me back."),
    ("Access", "The speech and language therapy written into his plan has not happened all year."),
    ("Transition", "She moves up to secondary school in September and there is no transition plan."),
    ("Inclusion", "He is never invited to parties and the other children leave him out at break time."),
    (OTHER, "Lovely sunny day here, off to the garden centre later."),
]


@pytest.mark.parametrize("area,text", CLEAR, ids=[area for area, _ in CLEAR])
def test_clear_answers_are_filed_under_their_area(classifier: ThemeClassifier, area: str, text: str) -> None:
    [found] = classifier.classify([text])
    assert area in _labels(found)
    assert _labels(found)[0] == area or area != OTHER


@pytest.mark.parametrize("areas,text", [
    ({"Identification", "Inclusion"},
     "He has been excluded three times and has no friends, and we are still waiting for his autism assessment."),
    ({"Access", "Inclusion"}, "He is bullied every day and the school have cut his one to one support."),
], ids=["identification-inclusion", "access-inclusion"])
def test_an_answer_about_two_areas_gets_both(classifier: ThemeClassifier, areas: set, text: str) -> None:
    [found] = classifier.classify([text])
    assert areas <= set(_labels(found))


def test_decide_files_under_areas_past_their_threshold_or_other() -> None:
    """Areas at or over their thresholds; Other when nothing passes and Other comes nearest."""
    thresholds = (0.5,) * len(LABELS)
    rows = [
        [0.9, 0.6, 0.1, 0.1, 0.1, 0.1],  # two areas
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.8],  # Other
        [0.2, 0.1, 0.45, 0.1, 0.1, 0.3],  # nothing passes; Access nearest its threshold
    ]
    found = decide(np.array(rows), thresholds)
    assert _labels(found[0]) == ["Identification", "Participation"]
    assert found[1] == ((OTHER, 0.9),)  # how sure it is that no area applies: 1 - 0.1
    assert _labels(found[2]) == ["Access"]


# --- building the themes -------------------------------------------------------------------------------------------

def _answers(theme, n, phrase="the waiting list for assessment is far too long"):
    return [f"Answer {i}: {phrase}, said [NAME] at [SCHOOL]." for i in range(n)]


def test_themes_come_in_label_order_with_small_ones_hidden() -> None:
    answers = _answers("Identification", 6) + ["Thank you."] * 3 + ["Nobody rang me back about the review."]
    labels = ([(("Identification", 0.9), ("Access", 0.6))] * 6 + [((OTHER, 0.95),)] * 3
              + [(("Participation", 0.8),)])
    built = build_themes(["why", "change"], answers, labels, threshold=THRESHOLD)
    assert isinstance(built, Themes)
    assert built.question_ids == ("why", "change")
    assert [theme.name for theme in built.themes] == list(LABELS)
    assert built.answers.count == len(answers)
    by_name = {theme.name: theme for theme in built.themes}
    assert by_name["Identification"].answers.count == 6
    assert by_name["Identification"].answers.percent == 60.0
    assert by_name["Access"].answers.count == 6  # multi-label: one answer counts in several themes
    for small in ("Participation", "Transition", "Inclusion", OTHER):  # 1, 0, 0 and 3 answers
        theme = by_name[small]
        assert theme.answers.count is None and theme.answers.hidden == SMALL
        assert theme.answers.percent is None
        assert theme.quotes == () and theme.key_phrases == () and theme.mean_confidence is None


def test_everything_is_hidden_when_there_are_few_answers() -> None:
    built = build_themes(["why"], ["We waited a year.", "Still waiting."],
                         [(("Identification", 0.9),)] * 2, threshold=THRESHOLD)
    assert built.answers.count is None and built.answers.hidden == SMALL
    assert all(theme.answers.suppressed and not theme.quotes and not theme.key_phrases for theme in built.themes)


def test_key_phrases_are_shared_by_answers_and_never_hold_a_redaction_token() -> None:
    answers = [
        "The waiting list for [NAME]'s assessment is far too long.",
        "Two years on the waiting list, [NAME] still has no assessment.",
        "[NAME] [NAME] waiting list again, the assessment keeps moving.",
        "Our waiting list letter from [SCHOOL] came after the assessment date.",
        "Waiting list, waiting list, waiting list for [PHONE] calls about the assessment.",
        "A unique sentence about a kestrel.",
    ]
    labels = [(("Identification", 0.9),)] * len(answers)
    built = build_themes(["why"], answers, labels, threshold=THRESHOLD)
    theme = built.themes[0]
    assert theme.key_phrases, "a shown theme has key phrases"
    assert "waiting list" in theme.key_phrases
    for phrase in theme.key_phrases:
        assert not REDACTION_TOKEN.search(phrase.upper()) and "[" not in phrase and "]" not in phrase
        for token in ("name", "school", "phone"):
            assert token not in phrase.split()
        uses = sum(1 for a in answers if phrase in re.sub(r"[^a-z' ]+", " ", a.lower()).replace("  ", " "))
        assert uses >= MIN_PHRASE_ANSWERS
        words = phrase.split()
        assert words[0] not in themes_module._PHRASE_STOP_WORDS and words[-1] not in themes_module._PHRASE_STOP_WORDS
        assert 1 <= len(words) <= 3
    assert "kestrel" not in " ".join(theme.key_phrases)  # used once: never a key phrase


def test_quotes_are_short_answers_of_the_theme() -> None:
    long_answer = "We have waited so long. " * 40
    answers = [long_answer] + [f"We waited {n} months for the assessment and heard nothing back." for n in range(2, 12)]
    labels = [(("Identification", 0.95),)] + [(("Identification", 0.7),)] * 10
    built = build_themes(["why"], answers, labels, threshold=THRESHOLD)
    quotes = built.themes[0].quotes
    assert 2 <= len(quotes) <= 3
    assert len(set(quotes)) == len(quotes)
    for quote in quotes:
        assert len(quote) <= MAX_QUOTE_CHARS
        assert quote in answers or (quote.endswith("…") and quote[:-1].rstrip() in long_answer)


def test_a_long_quote_is_cut_at_a_word() -> None:
    text = "word " * 100 + "end"
    cut = themes_module._shorten(text)
    assert len(cut) <= MAX_QUOTE_CHARS and cut.endswith("…") and cut[:-1].split()[-1] == "word"


def test_build_themes_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError):
        build_themes(["why"], ["one", "two"], [((OTHER, 1.0),)], threshold=THRESHOLD)
    with pytest.raises(ValueError):
        build_themes(["why"], [], [], threshold=1)


def test_classify_then_build_end_to_end(classifier: ThemeClassifier) -> None:
    answers = (["We have been waiting over a year for an autism assessment."] * 3
               + ["Still no assessment for ADHD after eighteen months on the waiting list.",
                  "The paediatrician referral was rejected and we are back on the waiting list.",
                  "Thank you.", "No comment."])
    built = build_themes(["why"], answers, classifier.classify(answers), threshold=THRESHOLD)
    identification = built.themes[0]
    assert identification.answers.count >= THRESHOLD
    assert identification.quotes and all(q in answers for q in identification.quotes)
    assert 0.0 <= identification.mean_confidence <= 1.0


# --- the data: real words, with sources, and an honest held-out sample -------------------------------------------

def _normalised_address(url: str) -> str:
    """As ../shared/eval/check_sources.py compares addresses: no scheme, www, query or fragment."""
    u = url.strip().lower()
    u = re.sub(r"^https?://", "", u)
    u = re.sub(r"^www\.", "", u)
    return u.split("#", 1)[0].split("?", 1)[0].rstrip("/.,;:")


def _normalised_text(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@pytest.fixture(scope="module")
def training():
    return load_examples(DEFAULT_TRAINING_FILE)


@pytest.fixture(scope="module")
def heldout():
    return load_examples(DEFAULT_HELDOUT_FILE)


def test_every_example_has_its_own_source(training, heldout) -> None:
    for path in (DEFAULT_TRAINING_FILE, DEFAULT_HELDOUT_FILE):
        for item in yaml.safe_load(Path(path).read_text(encoding="utf-8")):
            assert set(item) == {"text", "labels", "source"}, item
            assert re.match(r"https?://[^\s/]+\.[^\s]+", item["source"]), item


def test_there_are_enough_examples_of_every_label(training, heldout) -> None:
    assert len(training) >= 300
    assert len(heldout) >= 100
    counts = label_counts(training)
    assert all(counts[label] >= 30 for label in LABELS), counts
    assert all(label_counts(heldout)[label] >= 8 for label in LABELS)
    assert sum(len(e.labels) > 1 for e in training) >= 60  # many answers speak to several areas


def test_heldout_shares_no_page_and_no_text_with_training(training, heldout) -> None:
    """The held-out sample measures the classifier only if it comes from other pages and other words."""
    assert not {_normalised_address(e.source) for e in training} & {_normalised_address(e.source) for e in heldout}
    assert not {_normalised_text(e.text) for e in training} & {_normalised_text(e.text) for e in heldout}
    # nor a run of eight words: a lightly adapted copy of a training sentence would share one
    def shingles(text):
        words = _normalised_text(text).split()
        return {" ".join(words[i:i + 8]) for i in range(len(words) - 7)}
    train_shingles = set().union(*(shingles(e.text) for e in training))
    assert not [e.text for e in heldout if shingles(e.text) & train_shingles]


def test_the_classifier_never_reads_the_heldout_sample() -> None:
    source = inspect.getsource(themes_module)
    assert "heldout" not in source.lower() or "never reads" in source
    assert "themes_heldout.yml" not in re.sub(r'"""[\s\S]*?"""', "", source)  # outside its docstrings


def test_no_example_text_is_repeated(training, heldout) -> None:
    for examples in (training, heldout):
        texts = [_normalised_text(e.text) for e in examples]
        assert len(texts) == len(set(texts))


def test_examples_hold_no_obvious_personal_details(training, heldout) -> None:
    for example in list(training) + list(heldout):
        assert not re.search(r"\b0\d{3,4}\s?\d{3}\s?\d{3,4}\b", example.text)  # phone numbers
        assert not re.search(r"\S+@\S+\.\w+", example.text)  # e-mail addresses


def test_area_cues_cover_every_area() -> None:
    cues = load_cues(DEFAULT_AREAS_FILE)
    assert set(cues) == set(FRAMEWORK_AREAS) and all(cues.values())


@pytest.mark.parametrize("item,problem", [
    ({"text": "x", "labels": ["Happiness"], "source": "https://example.org/a"}, "unknown label"),
    ({"text": "x", "labels": ["Other", "Access"], "source": "https://example.org/a"}, "stands alone"),
    ({"text": "x", "labels": ["Access"]}, "source"),
    ({"text": "", "labels": ["Access"], "source": "https://example.org/a"}, "text"),
], ids=["unknown-label", "other-with-area", "no-source", "empty-text"])
def test_bad_examples_are_refused(tmp_path: Path, item: dict, problem: str) -> None:
    path = tmp_path / "themes.yml"
    path.write_text(yaml.safe_dump([item]), encoding="utf-8")
    with pytest.raises(ThemeDataError, match=problem):
        load_examples(path)


def test_classifier_needs_examples() -> None:
    with pytest.raises(ThemeDataError):
        ThemeClassifier([])


def test_small_training_set_still_classifies() -> None:
    """A label without examples is never predicted, rather than breaking training."""
    examples = [Example("waiting for an assessment", ("Identification",), "https://example.org/1"),
                Example("no assessment yet", ("Identification",), "https://example.org/2"),
                Example("thank you", (OTHER,), "https://example.org/3"),
                Example("thanks a lot", (OTHER,), "https://example.org/4")]
    found = ThemeClassifier(examples, thresholds=(0.5,) * len(LABELS)).classify(["still waiting for assessment"])
    assert _labels(found[0]) == ["Identification"]


# --- the measurement -----------------------------------------------------------------------------------------------

def test_score_counts_per_label_and_subset() -> None:
    rows, macro, subset = score([("Access",), ("Access", "Inclusion"), (OTHER,)],
                                [("Access",), ("Access",), ("Access",)])
    by_label = {label: (p, r, f1, n) for label, p, r, f1, n in rows}
    assert by_label["Access"][:2] == (2 / 3, 1.0)
    assert by_label["Inclusion"][3] == 1 and by_label["Inclusion"][2] == 0.0
    assert subset == pytest.approx(1 / 3)
    assert 0.0 <= macro <= 1.0


def test_measure_prints_the_scores(capsys: pytest.CaptureFixture) -> None:
    assert measure_main([]) == 0
    out = capsys.readouterr().out
    assert "macro F1 (6 labels)" in out and "subset accuracy" in out and "held-out sample" in out
