"""Venting and praise (give_feedback): a complaint gets sorry, the SEND team's number and the complaint route; praise
gets a warm thank you; both get the survey. The words are data (data/knowledge/feedback_tone.yml)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import survey
from actions.knowledge import knowledge
from bot.feedback_tone import FeedbackToneError, Tone, ToneReader
from tests.unit.trackers import tracker_after

READER = ToneReader.from_file()
SMS_LIMIT = 160  # the acknowledgement alone should fit one SMS segment
SEND_TEAM_PHONE = knowledge().facts["send_team_phone"].value

COMPLAINTS = [
    "nobody ever gets back to us",
    "No one gets back to you, it's like shouting into a void",
    "I've chased them 5 times about his EHCP and heard nothing",
    "still waiting for the draft plan, it's been 7 months",
    "we've been ignored since September",
    "honestly we always get fobbed off by the send team",
    "the way they've treated my daughter is a disgrace",
    "it's all so slow",
    "the whole process is painfully slow",
    "they never ring back when they say they will",
    "sent 3 emails and not a reply",
    "been waiting months for someone to call",
    "the caseworker was lovely but we're still waiting for the plan",
    "I want to complain about how the review was handled",
    "it's taking far too long and my son is missing out",
    "we keep getting passed from pillar to post",
    "thanks for nothing",
    "school were no help at all",
    "they lost the paperwork AGAIN",
    "fed up of having to fight for everything",
    "I\u2019ve chased and chased, nobody rang me back",  # curly apostrophe, as phones type it
    "absolutely appalling service",
    "not impressed with how long everything takes",  # praise words, negated
    "the review was rescheduled three times and nobody told us why",
]
PRAISE = [
    "this service has been a lifesaver",
    "our caseworker has been an absolute star",
    "just wanted to say thank you, the send team were brilliant",
    "sendiass were so helpful with the draft plan",
    "the holiday club was amazing, DS loved it",
    "couldn't have done it without the nursery's SENCo",
    "really grateful for all the help this year",
    "the short breaks worker has been a godsend",
    "thanks so much, that really helped",
]
NEUTRAL = [
    "I want to tell the parent carer forum about our experience",
    "id like to share how DS's move to secondary went",
    "i want the council to know what its been like for us",
    "i just want to feel heard for once",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_complaint_said_as_venting_reads_as_a_complaint(text: str) -> None:
    """Chasing, waiting, being ignored or fobbed off: the family gets the route to act on it."""
    assert READER.tone(text) is Tone.COMPLAINT


@pytest.mark.parametrize("text", PRAISE)
def test_praise_reads_as_praise(text: str) -> None:
    """A lifesaver, a star, thank you: a warm thank you, not the complaint route."""
    assert READER.tone(text) is Tone.PRAISE


@pytest.mark.parametrize("text", NEUTRAL)
def test_plain_feedback_is_neither(text: str) -> None:
    """Wanting to have a say is thanked as before."""
    assert READER.tone(text) is Tone.NEUTRAL


def test_a_bad_pattern_stops_loading(tmp_path: Path) -> None:
    """A typo in the tone file is caught at start-up, not in front of a family."""
    (tmp_path / "tone.yml").write_text("complaint:\n  - '(unclosed'\npraise:\n  - thanks\n")
    with pytest.raises(FeedbackToneError, match="not valid"):
        ToneReader.from_file(tmp_path / "tone.yml")
    (tmp_path / "empty.yml").write_text("complaint: []\npraise:\n  - thanks\n")
    with pytest.raises(FeedbackToneError, match="non-empty"):
        ToneReader.from_file(tmp_path / "empty.yml")


def _tracker(text: str, intent: str = "give_feedback") -> Tracker:
    return tracker_after(text, intent)


async def _offer(monkeypatch: pytest.MonkeyPatch, text: str, intent: str = "give_feedback") -> List[dict]:
    """Run action_offer_survey with one open survey and no stored progress; return what it sent."""
    monkeypatch.setattr(survey, "open_surveys", lambda today: [SimpleNamespace(id="strong_voices")])
    monkeypatch.setattr(survey, "survey_named", lambda tracker, candidates: None)
    monkeypatch.setattr(survey, "respondent", lambda tracker, survey_id: "someone")

    async def no_progress(s, person):
        return None

    monkeypatch.setattr(survey, "_load_progress", no_progress)
    dispatcher = CollectingDispatcher()
    await survey.ActionOfferSurvey().run(dispatcher, _tracker(text, intent), {})
    return dispatcher.messages


@pytest.mark.parametrize("text", COMPLAINTS)
async def test_a_complaint_gets_sorry_the_send_team_and_the_complaint_route(monkeypatch, text: str) -> None:
    """Sorry and the SEND team's number first, then the complaint route; the survey form runs next (rules.yml)."""
    messages = await _offer(monkeypatch, text)
    texts = [m.get("text") or "" for m in messages]
    assert len(texts) == 2, texts
    assert texts[0].startswith("Thank you for telling us, and I'm sorry") and SEND_TEAM_PHONE in texts[0]
    assert len(texts[0]) <= SMS_LIMIT
    assert "complaint" in texts[1]


@pytest.mark.parametrize("text", PRAISE)
async def test_praise_gets_a_warm_thank_you_and_no_complaint_route(monkeypatch, text: str) -> None:
    """Praise is thanked warmly; nobody is told how to complain about a service they love."""
    messages = await _offer(monkeypatch, text)
    assert [m.get("response") for m in messages] == ["utter_survey_thanks_praise"]


@pytest.mark.parametrize("text", NEUTRAL)
async def test_plain_feedback_gets_the_usual_thank_you(monkeypatch, text: str) -> None:
    """Neither a complaint nor praise: the thank you it always had."""
    messages = await _offer(monkeypatch, text)
    assert [m.get("response") for m in messages] == ["utter_survey_thanks"]


async def test_asking_for_the_survey_with_a_complaint_skips_the_thanks_but_keeps_the_route(monkeypatch) -> None:
    """"Can I do the survey, nobody gets back to us": no thank-you first, but the complaint route still comes."""
    messages = await _offer(monkeypatch, "can I do the survey, nobody gets back to us")
    texts = [m.get("text") or "" for m in messages]
    assert len(texts) == 1 and "complaint" in texts[0]


def test_the_acknowledgements_are_short_and_kind(project_dir: Path) -> None:
    """SMS-sized, plain text, and the praise reply is a thank you."""
    import yaml

    responses = yaml.safe_load((project_dir / "domain.yml").read_text())["responses"]
    praise = responses["utter_survey_thanks_praise"][0]["text"]
    assert praise.startswith("Thank you") and len(praise) <= SMS_LIMIT
    assert all(ord(ch) < 0x2000 for ch in praise)
