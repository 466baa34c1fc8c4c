"""Redaction of free text before it is stored (issue #7, part 3): what is redacted, what is kept, and how well.

The table of cases is tests/data/redaction_cases.yml; ``python -m bot.privacy.measure_redaction`` prints the same
scores these tests hold to a floor.
"""

from __future__ import annotations

import re
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest
import spacy.cli
import tldextract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.privacy import measure_redaction
from bot.privacy.measure_redaction import Case, expected_spans, load_cases, load_keep_words, score
from bot.privacy.redaction import KINDS, TOKEN_PATTERN, Finding, Redactor, default_redactor

RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.95
MIN_CASES = 150
MIN_NEGATIVE_CASES = 30
# Generous: the redactor takes about 2 ms for a 300-character message; this only catches a runaway expression.
MAX_MEDIAN_MS = 25.0
MAX_LONG_TEXT_SECONDS = 3.0

# Pieces of text that meet our recognisers, for the property tests to shuffle together.
FRAGMENTS = [
    "my son", "jake", "Will", "will", "May", "Grace", "Mrs", "Patel", "called", "my name is", "'s teacher", " and ",
    "07700 900123", "+44 7700 900123", "(024) 7683 1614", "0800 1111", "999", "sarah.jones+send@gmail.com", "@",
    "CV1 2GN", "cv12gn", "12 Acacia Avenue", "flat 3, ", "Road", "the crescent", "943 476 5919", "9434765919",
    "NHS no", "born", "DOB", "3/11/2019", "4 May 2018", "Whitley Academy", "Primary School", "St", "[NAME]",
    "[PHONE]", "[", "]", "SENCo", "EHCP", "ADHD", "SALT", "😊", "\n", ".", ",", " ", "  ", "\ud800", "\x00",
    "junior school", "house", "leo", "mum of", "DS", "(DD, 7)", "Centre", "Hope", "is 7",
]
SEPARATORS = st.sampled_from([" ", "", ", ", ". ", "\n", " and ", "'s "])


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    """One redactor for the module: building one reads Faker's lists and Presidio's set-up (seconds)."""
    return default_redactor()


@pytest.fixture(scope="module")
def cases() -> List[Case]:
    """The table."""
    return load_cases()


KIND_EXAMPLES = [
    pytest.param("my son jake has adhd", "my son [NAME] has adhd", id="name-lower-case-after-my-son"),
    pytest.param("My daughter Grace is 7", "My daughter [NAME] is 7", id="name-that-is-a-word-after-context"),
    pytest.param("We saw Will at the hub", "We saw [NAME] at the hub", id="name-that-is-a-word-mid-sentence"),
    pytest.param("Mrs Patel the SENCo", "Mrs [NAME] the SENCo", id="surname-after-title"),
    pytest.param("my name is zayyan", "my name is [NAME]", id="unlisted-name-after-my-name-is"),
    pytest.param("liam's teacher is kind", "[NAME]'s teacher is kind", id="name-before-possessive"),
    pytest.param("Kind regards, Tom Harris", "Kind regards, [NAME]", id="full-name-sign-off"),
    pytest.param("call 07700 900123", "call [PHONE]", id="phone-mobile-spaced"),
    pytest.param("call 07700900123", "call [PHONE]", id="phone-mobile-unspaced"),
    pytest.param("call +44 7700 900123", "call [PHONE]", id="phone-plus-44"),
    pytest.param("call (024) 7683 1614", "call [PHONE]", id="phone-landline-brackets"),
    pytest.param("call 0800 1111", "call [PHONE]", id="phone-freephone"),
    pytest.param("mail jo.bloggs+send@example.co.uk", "mail [EMAIL]", id="email-dots-and-plus"),
    pytest.param("we are in CV1 2GN", "we are in [POSTCODE]", id="postcode-spaced"),
    pytest.param("we are in cv12gn", "we are in [POSTCODE]", id="postcode-lower-case-unspaced"),
    pytest.param("we are in SW1A 1AA", "we are in [POSTCODE]", id="postcode-london"),
    pytest.param("flat 3, 45 London Road", "[ADDRESS]", id="address-with-flat"),
    pytest.param("14 the crescent", "[ADDRESS]", id="address-lower-case"),
    pytest.param("NHS number 943 476 5919", "NHS number [NHS_NUMBER]", id="nhs-spaced"),
    pytest.param("9434765919", "[NHS_NUMBER]", id="nhs-unspaced-check-digit"),
    pytest.param("nhs no 485 777 3456", "nhs no [NHS_NUMBER]", id="nhs-after-context-any-digits"),
    pytest.param("born 3/11/2019", "born [DATE_OF_BIRTH]", id="dob-numeric"),
    pytest.param("DOB 03.11.19", "DOB [DATE_OF_BIRTH]", id="dob-dotted"),
    pytest.param("date of birth 3rd November 2019", "date of birth [DATE_OF_BIRTH]", id="dob-words"),
    pytest.param("his birthday is 4 May 2018", "his birthday is [DATE_OF_BIRTH]", id="dob-birthday"),
    pytest.param("he goes to whitley academy", "he goes to [SCHOOL]", id="school-from-list-lower-case"),
    pytest.param("he goes to Moat House Primary", "he goes to [SCHOOL]", id="school-by-pattern"),
]


@pytest.mark.parametrize("text, expected", KIND_EXAMPLES)
def test_each_kind_is_redacted(redactor: Redactor, text: str, expected: str) -> None:
    """Every kind of personal information is replaced by its token in its usual forms (issue #7)."""
    assert redactor.redact(text) == expected


KEPT_EXAMPLES = [
    pytest.param("the meeting on 3 March", id="ordinary-date"),
    pytest.param("we asked on 12/01/2026", id="ordinary-numeric-date"),
    pytest.param("I will ask the SENCo", id="will-as-a-verb"),
    pytest.param("it may be late", id="may-as-a-verb"),
    pytest.param("Will the panel meet?", id="will-starting-a-question"),
    pytest.param("a grace period", id="grace-as-a-word"),
    pytest.param("the mark was low", id="mark-as-a-word"),
    pytest.param("call 999", id="emergency-number"),
    pytest.param("we want a special school", id="generic-school"),
    pytest.param("it took 9 months and the way they spoke to us", id="number-then-way"),
    pytest.param("SALT and DLA and PIP", id="send-words-that-look-like-names"),
]


@pytest.mark.parametrize("text", KEPT_EXAMPLES)
def test_ordinary_text_is_kept(redactor: Redactor, text: str) -> None:
    """Words, dates and numbers that are not personal stay as they are (issue #7)."""
    assert redactor.redact(text) == text


@pytest.mark.parametrize("word", load_keep_words())
def test_send_words_are_kept(redactor: Redactor, word: str) -> None:
    """No keep-word is ever redacted, in any case, even after "my son" or "Mrs" (issue #7)."""
    for form in (word, word.lower(), word.upper()):
        for text in (f"we asked about {form} again", f"my son {form} is late", f"Mrs {form} said"):
            redacted = redactor.redact(text)
            assert re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", redacted), (text, redacted)


def test_table_is_big_enough(cases: List[Case]) -> None:
    """The table has enough cases, and enough with nothing to redact, for its figures to mean something."""
    negatives = [case for case in cases if case.text == case.expected]
    assert len(cases) >= MIN_CASES
    assert len(negatives) >= MIN_NEGATIVE_CASES
    for case in cases:
        expected_spans(case)  # every expected text lines up with its text


def test_table_recall_and_precision(redactor: Redactor, cases: List[Case]) -> None:
    """Overall recall and precision on the table are at least 0.95 (measured as measure_redaction does)."""
    result = score(redactor, cases)
    assert result.recall >= RECALL_FLOOR, measure_redaction.report(result)
    assert result.precision >= PRECISION_FLOOR, measure_redaction.report(result)


def test_expected_texts_stay_as_they_are(redactor: Redactor, cases: List[Case]) -> None:
    """Redacting an already redacted text changes nothing: our tokens and what is left around them are safe."""
    for case in cases:
        assert redactor.redact(case.expected) == case.expected


# Strong cues beat the ordinary-word check, and the ordinary uses of the same words stay (see the module docstring).
CUED_NAME_EXAMPLES = [
    ("my son river has asd", "my son [NAME] has asd"),
    ("her TA semhar is lovely", "her TA [NAME] is lovely"),
    ("mr ray thompson the head", "mr [NAME] the head"),
    ("she (grace) wont go in", "she ([NAME]) wont go in"),
    ("sky is 12 and non verbal", "[NAME] is 12 and non verbal"),
    ("poppy-rose is in year 2", "[NAME] is in year 2"),
    ("she goes to little acorns pre-school", "she goes to [SCHOOL]"),
    ("she starts at sherbourne fields in september", "she starts at [SCHOOL] in september"),
    ("flat 3, 27 harnall lane east, near the park", "[ADDRESS], near the park"),
]
CUED_WORD_EXAMPLES = [
    "i will be honest", "may I ask", "I hope so", "took him for a walk along the river", "bill me", "the sky is",
    "the autumn term", "summer is nearly here", "hope is fading", "the transport team rang", "my son has asd",
    "my sons annual review", "i cant afford nursery", "we went to the nursery", "i miss school",
]


@pytest.mark.parametrize("text, expected", CUED_NAME_EXAMPLES)
def test_strong_cues_find_names_that_are_words(redactor: Redactor, text: str, expected: str) -> None:
    """After a strong cue, or in a sentence about a child, a word is a name even if it is also a word."""
    assert redactor.redact(text) == expected


@pytest.mark.parametrize("text", CUED_WORD_EXAMPLES)
def test_ordinary_uses_of_cued_words_are_kept(redactor: Redactor, text: str) -> None:
    """The same words in ordinary sentences stay."""
    assert redactor.redact(text) == text


def test_findings_are_ordered_and_do_not_overlap(redactor: Redactor) -> None:
    """``findings`` gives kinds without brackets, in order, never overlapping; the longer finding wins."""
    text = "My son Jake goes to Grace Academy, call 07700 900123 or email jake.smith@example.com"
    found = redactor.findings(text)
    assert [f.kind for f in found] == ["NAME", "SCHOOL", "PHONE", "EMAIL"]
    assert all(isinstance(f, Finding) and f.kind in KINDS for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    assert text[found[1].start:found[1].end] == "Grace Academy"


def _strip_tokens(text: str) -> List[str]:
    """The pieces of a redacted text between our tokens."""
    return TOKEN_PATTERN.split(text)


def _pieces_in_order(pieces: List[str], original: str) -> bool:
    """True if ``pieces`` occur in ``original`` in order without overlapping (redaction only replaced spans)."""
    position = 0
    for piece in pieces:
        found = original.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _check_properties(redactor: Redactor, text: str) -> None:
    redacted = redactor.redact(text)
    assert redactor.redact(redacted) == redacted
    pieces = _strip_tokens(redacted)
    assert sum(len(piece) for piece in pieces) <= len(text)
    assert _pieces_in_order(pieces, text)


ANY_CHARACTER = st.one_of(st.characters(codec=None, exclude_categories=()), st.characters(categories=["Cs"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=ANY_CHARACTER, max_size=200))
def test_any_text_is_redacted_without_error(redactor: Redactor, text: str) -> None:
    """Any string at all (emoji, control characters, lone surrogates) is redacted without raising, idempotently,
    and only by replacing parts of it with tokens."""
    _check_properties(redactor, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), SEPARATORS),
                      max_size=14))
def test_mixed_personal_text_is_redacted_idempotently(redactor: Redactor, parts: list) -> None:
    """Text made of names, numbers, addresses, SEND words and our own tokens is redacted idempotently, and the
    redaction never makes the text longer except by its tokens."""
    _check_properties(redactor, "".join(fragment + separator for fragment, separator in parts))


def test_long_text_is_redacted(redactor: Redactor) -> None:
    """A 10,000-character text is redacted quickly and every name in it is found."""
    text = ("My son Jake has ADHD and the EHCP took 9 months. Call me on 07700 900123. " * 150)[:10_000]
    started = time.perf_counter()
    redacted = redactor.redact(text)
    assert time.perf_counter() - started < MAX_LONG_TEXT_SECONDS
    assert "Jake" not in redacted and "07700" not in redacted
    assert redacted.count("ADHD") == text.count("ADHD")


def test_chat_message_is_fast(redactor: Redactor) -> None:
    """A 300-character chat message is redacted in a few milliseconds after the first call."""
    message = measure_redaction.TIMING_MESSAGE
    redactor.redact(message)
    times = []
    for _ in range(50):
        started = time.perf_counter()
        redactor.redact(message)
        times.append((time.perf_counter() - started) * 1000)
    assert statistics.median(times) < MAX_MEDIAN_MS


def test_redact_is_thread_safe(redactor: Redactor, cases: List[Case]) -> None:
    """Many threads redacting at once get what one thread gets."""
    texts = [case.text for case in cases[:60]]
    wanted = [redactor.redact(text) for text in texts]
    results: dict = {}
    errors: list = []

    def work(number: int) -> None:
        try:
            results[number] = [redactor.redact(text) for text in texts]
        except Exception as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(result == wanted for result in results.values())


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Block and record every attempt to reach the network: DNS, sockets and spaCy's model download."""
    attempts: list = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network use in a redaction test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(spacy.cli, "download", refuse)
    yield attempts


def test_no_network_is_used(no_network: list) -> None:
    """Building a redactor and redacting e-mails uses no network: no suffix list download (tldextract), no spaCy
    model download (Presidio)."""
    redactor = Redactor.default()
    assert redactor.redact("write to jo.bloggs@example.co.uk or sam@school.sch.uk") == "write to [EMAIL] or [EMAIL]"
    assert no_network == []


def test_network_guard_sees_a_download(no_network: list, tmp_path: Path) -> None:
    """The guard above would see a download: tldextract's default extractor, with an empty cache, tries one (and
    falls back to its snapshot when refused), which is why the redactor builds its own."""
    tldextract.TLDExtract(cache_dir=str(tmp_path))("jo@example.co.uk")
    assert no_network


def test_extra_school_names_file(tmp_path: Path) -> None:
    """A deployment's SCHOOL_NAMES_FILE adds schools to ours: a name only in that file is redacted."""
    extra = tmp_path / "schools.yml"
    extra.write_text("schools:\n  - Hollybush Learning Unit\n", encoding="utf-8")
    text = "he is at the hollybush learning unit three days a week"
    assert default_redactor().redact(text) == text
    redactor = Redactor.default(school_names_file=extra)
    assert redactor.redact(text) == "he is at the [SCHOOL] three days a week"
    assert redactor.redact("he goes to Whitley Academy") == "he goes to [SCHOOL]"


def test_default_redactor_is_built_once() -> None:
    """``default_redactor`` gives the same redactor every time."""
    assert default_redactor() is default_redactor()


def test_default_redactor_reads_school_names_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """default_redactor() adds the schools in SCHOOL_NAMES_FILE (read through bot.settings)."""
    schools = tmp_path / "schools.yml"
    schools.write_text("schools:\n  - Zebrawood Learning Base\n", encoding="utf-8")
    monkeypatch.setenv("SCHOOL_NAMES_FILE", str(schools))
    default_redactor.cache_clear()
    try:
        assert default_redactor().redact("he goes to zebrawood learning base") == "he goes to [SCHOOL]"
    finally:
        monkeypatch.delenv("SCHOOL_NAMES_FILE")
        default_redactor.cache_clear()
