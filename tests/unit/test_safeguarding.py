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


# ---- the rule (patterns OR the NLU's confidence), the labelled sets and the calibration ----

from bot.safeguarding import SafeguardingRule, safeguarding_rule  # noqa: E402
from bot.safeguarding.calibration import MISS_COST, choose_threshold, cost  # noqa: E402
from bot.safeguarding.examples import HELDOUT_FILE, load_examples  # noqa: E402

EXAMPLES = load_examples()
HELDOUT = load_examples(HELDOUT_FILE)


@pytest.fixture(scope="module")
def rule() -> SafeguardingRule:
    return safeguarding_rule()


def test_the_labelled_set_is_big_balanced_and_sourced() -> None:
    """At least 200 messages, about half disclosures, each with the page its wording came from."""
    disclosures = sum(m.disclosure for m in EXAMPLES)
    assert len(EXAMPLES) >= 200
    assert 0.4 <= disclosures / len(EXAMPLES) <= 0.6
    assert all(m.source.startswith("http") for m in EXAMPLES)


def test_the_held_out_set_shares_no_page_with_the_labelled_set() -> None:
    """Held-out wording must come from other pages, or it would measure memory, not the rule."""
    assert {m.source for m in HELDOUT}.isdisjoint({m.source for m in EXAMPLES})
    assert {m.text for m in HELDOUT}.isdisjoint({m.text for m in EXAMPLES})


def test_no_labelled_everyday_message_matches_a_pattern() -> None:
    """The patterns are a floor that always counts, so not one everyday worry may match them."""
    assert [m.text for m in EXAMPLES if not m.disclosure and DETECTOR.is_disclosure(m.text)] == []


def test_a_pattern_or_a_confident_model_makes_a_disclosure(rule: SafeguardingRule) -> None:
    assert rule.is_disclosure("my stepdad hits me when mum is out", confidence=0.0)
    assert rule.is_disclosure("something the patterns do not know", confidence=rule.threshold)
    assert not rule.is_disclosure("something the patterns do not know", confidence=rule.threshold - 0.01)
    assert not rule.is_disclosure("   ", confidence=1.0)


def test_a_threshold_that_is_not_a_probability_is_refused(tmp_path) -> None:
    for value in ("0", "1.5", "yes", "true"):
        path = tmp_path / "safeguarding.yml"
        path.write_text(f"model_threshold: {value}\npatterns: ['\\\\bsuicid']\n", encoding="utf-8")
        with pytest.raises(ValueError, match="model_threshold"):
            SafeguardingRule.from_file(path)


def test_calibration_weighs_a_miss_as_many_false_alarms() -> None:
    """Disclosures at 0.9, 0.8 and 0.35; everyday worries at 0.6, 0.4 and 0.1: catching the 0.35 one is worth two
    false alarms, so the threshold goes below it (to the lowest of equal cost: new wording scores lower)."""
    confidences = [0.9, 0.8, 0.35, 0.6, 0.4, 0.1]
    disclosures = [True, True, True, False, False, False]
    caught = [False] * 6
    assert choose_threshold(confidences, disclosures, caught) == 0.15
    assert cost(0.35, confidences, disclosures, caught) == 2
    assert cost(0.65, confidences, disclosures, caught) == MISS_COST
    # A pattern already catches the hard one: no need to go that low.
    assert choose_threshold(confidences, disclosures, [False, False, True, False, False, False]) == 0.65


@pytest.mark.parametrize(
    "text",
    [
        "hi, can you tell me how the 30 hours works for my 3 year old, we just moved from Leicester and I'm not sure "
        "which nursery to pick, the one near us has a waiting list. also my partner has been hitting me and I need to "
        "get out with the kids",
        "Question about the EHCP annual review next month. The SENCO says she will send the forms and I have to write "
        "my views. Honestly I haven't slept. To be honest I keep thinking everyone would be better off if I wasn't here.",
    ],
    ids=["partner-hitting", "better-off-if-i-wasnt-here"],
)
def test_a_disclosure_inside_a_long_message_is_caught_by_the_floor(rule: SafeguardingRule, text: str) -> None:
    """A disclosure after a question about something else is caught whatever the model makes of the rest."""
    assert rule.is_disclosure(text, confidence=0.0)


def test_a_joke_is_no_disclosure_on_the_model_alone_but_never_cancels_a_pattern(rule: SafeguardingRule) -> None:
    assert not rule.is_disclosure("my 4 year old drew on the new sofa, im going to kill him lol", confidence=0.95)
    assert not rule.is_disclosure("this EHCP form is killing me \U0001F602", confidence=0.95)
    assert rule.is_disclosure("i tried to kill myself last year lol and its starting again", confidence=0.0)
    assert rule.is_disclosure("nobody would even notice if i was gone", confidence=0.95)
