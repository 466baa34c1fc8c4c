"""Survey responses made the way families make them: by running the survey through the running stack.

The forum's tests (export, suppression, dashboard) read what the assistant itself stored, never hand-written
records, so a change in how answers are parsed, redacted or stored shows up in the figures the forum sees.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

from bot.surveys.definitions import Survey

# What each seeded parent answers, by question id (free text by position). Chosen so that some cells are small
# (suppressed) and some are not, HAF is chosen by some (so its follow-up is asked), and one free-text answer
# starts with characters a spreadsheet would run as a formula.
FREE_TEXT_CHANGE = (
    "Shorter waiting lists for speech and language therapy, we waited over a year for any support",
    "More help in school, the support in her plan is not being delivered and we are still waiting",
    "Proper support at school so he is not sent home or put on a part time timetable",
    "Clubs and activities that include children with autism instead of saying they cannot cope",
    "=HYPERLINK(\"http://evil.example/\",\"Click for help\") support at the right time",
    "Help that comes at the right time, not after years of waiting and fighting for it",
    "Staff who understand SEND so our children are included on school trips and clubs",
    "Getting the therapy and support in the plan actually delivered, waiting is too long",
    "Being listened to at the review instead of being told what the school can offer",
    "Support that arrives before the move to secondary school, not after it goes wrong",
)


@dataclass
class ForumSeed:
    """What was seeded: the survey, how many completed it, and the free text typed."""

    survey_id: str
    responses: int
    free_text: List[str] = field(default_factory=list)
    senders: List[str] = field(default_factory=list)


def plan_for(index: int) -> Dict[str, str]:
    """The replies parent ``index`` gives, by question id (replies as a parent would type them)."""
    pick = lambda *choices: choices[index % len(choices)]  # noqa: E731 - ten parents, one column each
    return {
        "services_used": pick("1 and 2", "2", "1", "2 and 3", "1 and 2", "4", "2", "1 and 3", "2", "1"),
        "had_ehc_meeting": pick("yes", "yes", "no", "yes", "yes", "yes", "no", "yes", "yes", "not sure"),
        "ehc_listened": pick("2", "4", "5", "1", "4", "2", "4", "5", "4", "2"),
        "ehc_why": "Nobody called us back and the plan was written before the meeting",
        "help_right_time": pick("disagree", "disagree", "agree", "disagree", "pass", "disagree", "agree",
                                "disagree", "disagree", "disagree"),
        "last_move": pick("3", "2", "1", "3", "4", "2", "3", "1", "3", "3"),
        "haf_included": pick("yes", "no", "yes", "no", "yes", "no", "yes", "no", "yes", "no"),
        "recommend_forum": pick("9", "7", "10", "3", "8", "6", "9", "10", "9", "2"),
        "one_change": FREE_TEXT_CHANGE[index % len(FREE_TEXT_CHANGE)],
    }


Ask = Callable[[str, str], List[dict]]


def rest_ask(rasa_url: str) -> Ask:
    """Send one message to Rasa's REST channel as ``sender``; returns the bot's messages."""

    def _ask(sender: str, text: str) -> List[dict]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"[]")

    return _ask


def _asked(survey: Survey, messages: Sequence[dict]) -> str:
    """The id of the question the bot just asked (matched on its text), or "" when none was."""
    text = "\n".join(m.get("text") or "" for m in messages)
    for question in survey.questions:
        if question.text in text:
            return question.id
    return ""


def complete_survey(ask: Ask, survey: Survey, sender: str, replies: Dict[str, str]) -> None:
    """Take part from the offer to the thanks, answering each question the bot asks from ``replies``.

    Raises:
        AssertionError: the bot asked something unexpected or did not reach the thanks.
    """
    ask(sender, "/survey_offer" + json.dumps({"survey": survey.id}))
    messages = ask(sender, "yes")
    for _ in range(len(survey.questions) + 1):
        question = _asked(survey, messages)
        if not question:
            break
        messages = ask(sender, replies.get(question, "skip"))
    text = "\n".join(m.get("text") or "" for m in messages)
    assert survey.thanks.split(".")[0] in text, f"the survey did not end with its thanks: {text!r}"


def seed_forum_survey(rasa_url: str, survey: Survey, count: int) -> ForumSeed:
    """Run ``survey`` through the stack ``count`` times, each as a new web-chat visitor."""
    ask = rest_ask(rasa_url)
    seed = ForumSeed(survey_id=survey.id, responses=count)
    for index in range(count):
        sender = "seed-" + uuid.uuid4().hex
        replies = plan_for(index)
        complete_survey(ask, survey, sender, replies)
        seed.senders.append(sender)
        seed.free_text.append(replies["one_change"])
    return seed
