"""The disclosure patterns: clear disclosures always match, everyday questions never do. Issue #2."""

import pytest

from bot.safeguarding import DisclosureDetector, normalise

DETECTOR = DisclosureDetector.from_file()


@pytest.mark.parametrize(
    "text",
    [
        "my stepdad hurts me when mum is out",
        "My Step-Dad HITS ME",
        "i dont want to be alive anymore",
        "I don’t want to be here any more",
        "im going to kill myself",
        "i've been cutting myself again",
        "thinking about suicide",
        "he threatened to kill me",
        "I'm scared to go home",
        "i am not safe at home",
        "someone online keeps asking me for nudes",
        "my uncle touched me and told me not to tell",
        "there is domestic violence in our house",
        "i want to die",
        "everyone would be better off without me",
        "i took an overdose",
    ],
)
def test_a_disclosure_matches(text: str) -> None:
    """These must always get the emergency routes, whatever the NLU model thinks."""
    assert DETECTOR.is_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "it's not fair",
        "my son hurt his arm at nursery, what's the policy",
        "my daughter hit another child at pre-school, will they exclude her",
        "the EHC process is killing me with stress lol",
        "can I get help with the cost of nappies",
        "how do i ask for an ehc assessment",
        "we're scared the council will say no",
        "the tribunal threatened to strike out our appeal",
        "is the holiday club safe for a child with epilepsy",
        "cut off date for the 30 hours",
    ],
)
def test_an_everyday_message_does_not_match(text: str) -> None:
    """No false alarms: an ordinary question gets an ordinary answer."""
    assert not DETECTOR.is_disclosure(text)


def test_normalise_reads_curly_and_missing_apostrophes_alike() -> None:
    """Phones type ’, keyboards type ', and SMS often has none."""
    assert normalise("I’M  Scared") == normalise("im scared") == "im scared"


def test_an_empty_patterns_file_is_refused(tmp_path) -> None:
    """Running without the floor of patterns is not safe, so a broken file stops start-up."""
    path = tmp_path / "patterns.yml"
    path.write_text("patterns: []\n")
    with pytest.raises(ValueError):
        DisclosureDetector.from_file(path)


@pytest.mark.parametrize(
    "text",
    [
        "my sister's kids keep getting left on their own for days and there's never any food in the house",
        "we get left home alone every night",
        "the baby isn't being fed",
    ],
    ids=["left-for-days", "home-alone-nightly", "not-fed"],
)
def test_neglect_matches(text: str) -> None:
    """Neglect is harm too: a child left alone or unfed gets the routes at once."""
    assert DETECTOR.is_disclosure(text)


@pytest.mark.parametrize(
    "text",
    ["can the nursery leave him on his own for a nap", "is there food at the holiday club", "does the club give food"],
    ids=["nap", "club-food", "club-meal"],
)
def test_everyday_food_and_alone_questions_are_no_false_alarm(text: str) -> None:
    """Ordinary questions about meals and supervision are not neglect."""
    assert not DETECTOR.is_disclosure(text)
